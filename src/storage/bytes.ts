import { CodecError } from './errors.js';

/**
 * Little-endian fixed-width byte writing and bounds-checked reading for the storage formats.
 * Terms, indexes and lengths are written as u64 and must read back as safe integers; a value
 * that does not fit is a decode error, never a silent rounding.
 */
export class ByteWriter {
  private buffer: Uint8Array;
  private view: DataView;
  private length = 0;

  constructor(initialBytes = 64) {
    this.buffer = new Uint8Array(initialBytes);
    this.view = new DataView(this.buffer.buffer);
  }

  /** Makes room for `bytes` more and returns where they go. Call it before touching buffer/view: it may replace them. */
  private reserve(bytes: number): number {
    const at = this.length;
    const needed = at + bytes;
    if (needed > this.buffer.length) {
      const grown = new Uint8Array(Math.max(needed, this.buffer.length * 2));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
      this.view = new DataView(grown.buffer);
    }
    this.length = needed;
    return at;
  }

  u8(value: number): this {
    const at = this.reserve(1);
    this.view.setUint8(at, value);
    return this;
  }

  u32(value: number): this {
    const at = this.reserve(4);
    this.view.setUint32(at, value, true);
    return this;
  }

  /** A non-negative safe integer as u64. */
  u64(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`u64 field must be a non-negative safe integer, got ${value}`);
    const at = this.reserve(8);
    this.view.setBigUint64(at, BigInt(value), true);
    return this;
  }

  /** A 64-bit id (bigint), stored as unsigned. */
  id64(value: bigint): this {
    const at = this.reserve(8);
    this.view.setBigUint64(at, BigInt.asUintN(64, value), true);
    return this;
  }

  /** A u32 length followed by the bytes. */
  bytes(value: Uint8Array): this {
    this.u32(value.length);
    const at = this.reserve(value.length);
    this.buffer.set(value, at);
    return this;
  }

  raw(value: Uint8Array): this {
    const at = this.reserve(value.length);
    this.buffer.set(value, at);
    return this;
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

export class ByteReader {
  private offset = 0;
  private readonly view: DataView;

  constructor(
    private readonly source: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(source.buffer, source.byteOffset, source.byteLength);
  }

  private take(count: number): number {
    if (count > this.source.length - this.offset) {
      throw new CodecError(this.what, `needs ${count} more bytes at offset ${this.offset}, only ${this.source.length - this.offset} left`);
    }
    const at = this.offset;
    this.offset += count;
    return at;
  }

  u8(): number {
    return this.view.getUint8(this.take(1));
  }

  u32(): number {
    return this.view.getUint32(this.take(4), true);
  }

  u64(): number {
    const at = this.take(8);
    const value = this.view.getBigUint64(at, true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new CodecError(this.what, `u64 at offset ${at} is beyond the safe integer range`);
    return Number(value);
  }

  id64(): bigint {
    return this.view.getBigUint64(this.take(8), true);
  }

  /** A u32 length followed by that many bytes; the length is checked against what is left before copying. */
  bytes(): Uint8Array {
    const length = this.u32();
    const at = this.take(length);
    return this.source.slice(at, at + length);
  }

  raw(length: number): Uint8Array {
    const at = this.take(length);
    return this.source.subarray(at, at + length);
  }

  remaining(): number {
    return this.source.length - this.offset;
  }

  /** Fails unless every byte was consumed: trailing bytes mean the record is not what we think. */
  end(): void {
    if (this.offset !== this.source.length) throw new CodecError(this.what, `${this.source.length - this.offset} trailing bytes`);
  }
}
