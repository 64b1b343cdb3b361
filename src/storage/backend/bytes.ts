/**
 * Byte strings: the backends and the MVCC index key their ordered maps by JavaScript strings
 * in which every char code is one byte (0..255). Native string comparison then orders them
 * exactly as unsigned byte-wise comparison orders the bytes, and strings are far cheaper to
 * hold and compare than Uint8Array objects. Conversion uses Buffer's 'latin1' codec, which is
 * the identity on 0..255 (TextDecoder's 'latin1' is windows-1252 and is not).
 */
export type ByteString = string;

export function toByteString(bytes: Uint8Array): ByteString {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

export function fromByteString(text: ByteString): Uint8Array {
  const buffer = Buffer.from(text, 'latin1');
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** Unsigned byte-wise comparison, the order etcd uses for keys and values. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 1) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}
