/**
 * CRC-32C (Castagnoli), the checksum etcd uses for HashKV and its WAL. Table-driven and
 * incremental: pass the previous result as `crc` to continue a running checksum.
 */
const table = ((): Uint32Array => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32c(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i += 1) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** The same checksum over a byte string (one byte per char), without converting it first. */
export function crc32cOfByteString(data: string, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i += 1) c = table[(c ^ data.charCodeAt(i)) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
