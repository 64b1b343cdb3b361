/**
 * Keys on the wire are bytes; users mostly write strings. These helpers convert, compute the
 * end of a prefix range, and apply a client namespace (a byte prefix added to every key and
 * removed from every key the server returns).
 */
export type Key = string | Uint8Array;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Longest string the ASCII fast path tries (TextEncoder's fixed cost dominates below it). */
const shortStringChars = 128;

export function toBytes(value: Key): Uint8Array {
  if (typeof value !== 'string') return value;
  // Keys are short and mostly ASCII: copying char codes beats TextEncoder's native call.
  const length = value.length;
  if (length <= shortStringChars) {
    const bytes = new Uint8Array(length);
    for (let i = 0; i < length; i += 1) {
      const code = value.charCodeAt(i);
      if (code >= 0x80) return encoder.encode(value);
      bytes[i] = code;
    }
    return bytes;
  }
  return encoder.encode(value);
}

export function bytesToString(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

export function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i += 1) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** The single zero byte: as a range end it means "every key from the start key up". */
export const FROM_KEY = new Uint8Array([0]);

/**
 * The smallest key greater than every key starting with `prefix`: increment the last byte
 * below 0xff and drop what follows. All-0xff (or empty) prefixes map to `\0` (no upper bound).
 */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  for (let i = prefix.length - 1; i >= 0; i -= 1) {
    if (prefix[i]! < 0xff) {
      const end = prefix.slice(0, i + 1);
      end[i] = prefix[i]! + 1;
      return end;
    }
  }
  return FROM_KEY;
}

/** Adds and strips a namespace prefix. An empty namespace is the identity. */
export class Namespace {
  readonly prefix: Uint8Array;

  constructor(prefix: Key = '') {
    this.prefix = toBytes(prefix);
  }

  get isEmpty(): boolean {
    return this.prefix.length === 0;
  }

  key(key: Uint8Array): Uint8Array {
    return this.isEmpty ? key : concatBytes(this.prefix, key);
  }

  /**
   * A range end inside the namespace: empty stays empty (single key), `\0` becomes the end of
   * the namespace (every key from `key` up, but only ours), anything else is prefixed.
   */
  rangeEnd(rangeEnd: Uint8Array): Uint8Array {
    if (this.isEmpty || rangeEnd.length === 0) return rangeEnd;
    if (rangeEnd.length === 1 && rangeEnd[0] === 0) return prefixEnd(this.prefix);
    return concatBytes(this.prefix, rangeEnd);
  }

  strip(key: Uint8Array): Uint8Array {
    return this.isEmpty || !startsWith(key, this.prefix) ? key : key.subarray(this.prefix.length);
  }
}
