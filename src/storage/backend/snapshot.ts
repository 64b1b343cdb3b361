import { requireInteger } from '../../base/validate.js';
import { BUCKETS, type Backend, type BackendEntry } from './backend.js';
import { crc32c } from './crc32c.js';
import { SnapshotCorruptError } from './errors.js';
import { type ByteString, toByteString } from './bytes.js';

/**
 * The engine-neutral snapshot byte stream of a backend: what a raft snapshot carries, so a
 * member on `memory` can send its state to a member on `lmdb` and the reverse.
 *
 *   "CNVBKUP1"                                   8-byte magic
 *   repeated: u8 bucket index (BUCKETS order), u32 key length, key, u32 value length, value
 *   trailer:  u8 0xff, u32 entry count, u32 CRC-32C of every byte before the trailer's CRC
 *
 * Integers are big-endian. The reader checks the whole stream before touching the backend.
 */
const MAGIC = new TextEncoder().encode('CNVBKUP1');
const TRAILER = 0xff;
const DEFAULT_CHUNK_BYTES = 64 * 1024;

/** Produces the snapshot of `backend` in chunks of about `chunkBytes`. Flushes first. */
export function* writeSnapshot(backend: Backend, chunkBytes = DEFAULT_CHUNK_BYTES): IterableIterator<Uint8Array> {
  requireInteger('chunkBytes', chunkBytes, 64, 64 * 1024 * 1024);
  backend.flush();
  let crc = 0;
  let parts: Uint8Array[] = [MAGIC];
  let partsBytes = MAGIC.length;
  const emit = (): Uint8Array => {
    const chunk = Buffer.concat(parts, partsBytes);
    crc = crc32c(chunk, crc);
    parts = [];
    partsBytes = 0;
    return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  };
  let count = 0;
  for (const entry of backend.entries()) {
    const head = Buffer.allocUnsafe(5);
    head.writeUInt8(BUCKETS.indexOf(entry.bucket), 0);
    head.writeUInt32BE(entry.key.length, 1);
    const valueLength = Buffer.allocUnsafe(4);
    valueLength.writeUInt32BE(entry.value.length, 0);
    const key = Buffer.from(entry.key, 'latin1');
    parts.push(head, key, valueLength, entry.value);
    partsBytes += 9 + key.length + entry.value.length;
    count += 1;
    if (partsBytes >= chunkBytes) yield emit();
  }
  const trailer = Buffer.allocUnsafe(5);
  trailer.writeUInt8(TRAILER, 0);
  trailer.writeUInt32BE(count, 1);
  parts.push(trailer);
  partsBytes += 5;
  const last = emit();
  const crcBytes = Buffer.allocUnsafe(4);
  crcBytes.writeUInt32BE(crc, 0);
  yield Buffer.concat([last, crcBytes]);
}

/** Parses and verifies a snapshot stream, returning its entries (nothing is applied). */
export function readSnapshot(chunks: Iterable<Uint8Array>): BackendEntry[] {
  const reader = new ChunkReader(chunks);
  const magic = reader.take(MAGIC.length);
  if (Buffer.compare(magic, MAGIC) !== 0) throw new SnapshotCorruptError('bad magic');
  const entries: BackendEntry[] = [];
  for (;;) {
    const tag = reader.take(1)[0]!;
    if (tag === TRAILER) break;
    const bucket = BUCKETS[tag];
    if (bucket === undefined) throw new SnapshotCorruptError(`unknown bucket index ${tag}`);
    const key: ByteString = toByteString(reader.take(reader.u32()));
    if (key.length === 0) throw new SnapshotCorruptError('empty key');
    const value = Uint8Array.prototype.slice.call(reader.take(reader.u32()));
    entries.push({ bucket, key, value });
  }
  const count = reader.u32();
  const expectedCrc = reader.crc;
  const crcBytes = reader.take(4, false);
  const crc = ((crcBytes[0]! << 24) | (crcBytes[1]! << 16) | (crcBytes[2]! << 8) | crcBytes[3]!) >>> 0;
  if (count !== entries.length) throw new SnapshotCorruptError(`trailer counts ${count} entries, stream has ${entries.length}`);
  if (crc !== expectedCrc) throw new SnapshotCorruptError('checksum mismatch');
  if (!reader.atEnd()) throw new SnapshotCorruptError('trailing bytes after the checksum');
  return entries;
}

/** Replaces the contents of `backend` with a verified snapshot stream. */
export function restoreSnapshot(backend: Backend, chunks: Iterable<Uint8Array>): void {
  const entries = readSnapshot(chunks);
  backend.replaceAll(entries);
  backend.flush();
}

/** Reads fixed-size pieces across chunk boundaries, keeping a running CRC of what it consumed. */
class ChunkReader {
  private readonly iterator: Iterator<Uint8Array>;
  private buffer: Uint8Array = new Uint8Array(0);
  private offset = 0;
  crc = 0;

  constructor(chunks: Iterable<Uint8Array>) {
    this.iterator = chunks[Symbol.iterator]();
  }

  take(length: number, checksum = true): Uint8Array {
    while (this.buffer.length - this.offset < length) {
      const next = this.iterator.next();
      if (next.done) throw new SnapshotCorruptError('truncated stream');
      this.buffer = Buffer.concat([this.buffer.subarray(this.offset), next.value]);
      this.offset = 0;
    }
    const piece = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    if (checksum) this.crc = crc32c(piece, this.crc);
    return piece;
  }

  u32(): number {
    const bytes = this.take(4);
    return ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  }

  atEnd(): boolean {
    if (this.offset < this.buffer.length) return false;
    for (;;) {
      const next = this.iterator.next();
      if (next.done) return true;
      if (next.value.length > 0) return false;
    }
  }
}
