import { crc32c as nativeCrc32c } from '@node-rs/crc32';

/**
 * CRC-32C (Castagnoli), the checksum of the WAL records, snapshot files, backend snapshots and
 * HashKV (as etcd uses it). Computed by @node-rs/crc32 (SSE4.2/ARMv8 CRC instructions); its
 * results are the standard CRC-32C, so files written by the earlier table-driven version read
 * the same (test/storage/codec.test.ts checks the published test vectors).
 *
 * CRC-32C of `bytes[start, end)`. Pass a previous result as `seed` to continue a checksum over
 * several pieces: crc32c(b, crc32c(a)) === crc32c(a ++ b).
 */
export function crc32c(bytes: Uint8Array, seed = 0, start = 0, end = bytes.length): number {
  return nativeCrc32c(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end), seed);
}

/** The same checksum over a byte string (one byte per char, as the backend's keys are held). */
export function crc32cOfByteString(data: string, seed = 0): number {
  return nativeCrc32c(Buffer.from(data, 'latin1'), seed);
}
