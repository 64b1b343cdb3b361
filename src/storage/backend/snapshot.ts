import { requireInteger } from '../../base/validate.js';
import { BUCKETS, type Backend, type BackendEntry } from './backend.js';
import { crc32c } from '../crc32c.js';
import { SnapshotCorruptError } from './errors.js';

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
const MAGIC = Buffer.from('CNVBKUP1', 'latin1');
const TRAILER = 0xff;
const DEFAULT_CHUNK_BYTES = 64 * 1024;

/** Produces the snapshot of `backend` in chunks of about `chunkBytes`. Flushes first. */
export function* writeSnapshot(backend: Backend, chunkBytes = DEFAULT_CHUNK_BYTES): IterableIterator<Uint8Array> {
  requireInteger('chunkBytes', chunkBytes, 64, 64 * 1024 * 1024);
  backend.flush();
  let crc = 0;
  let chunk = Buffer.allocUnsafe(chunkBytes);
  let used = 0;
  /** Hands out the filled part of the chunk (checksummed) and starts a new one of at least `next` bytes. */
  const emit = (next: number): Uint8Array => {
    const out = chunk.subarray(0, used);
    crc = crc32c(out, crc);
    chunk = Buffer.allocUnsafe(Math.max(chunkBytes, next));
    used = 0;
    return out;
  };
  MAGIC.copy(chunk, 0);
  used = MAGIC.length;
  let count = 0;
  for (const entry of backend.entries()) {
    const size = 9 + entry.key.length + entry.value.length;
    if (used + size > chunk.length) yield emit(size);
    chunk.writeUInt8(BUCKETS.indexOf(entry.bucket), used);
    chunk.writeUInt32BE(entry.key.length, used + 1);
    chunk.write(entry.key, used + 5, 'latin1');
    used += 5 + entry.key.length;
    chunk.writeUInt32BE(entry.value.length, used);
    chunk.set(entry.value, used + 4);
    used += 4 + entry.value.length;
    count += 1;
  }
  if (used + 9 > chunk.length) yield emit(9);
  chunk.writeUInt8(TRAILER, used);
  chunk.writeUInt32BE(count, used + 1);
  used += 5;
  const last = emit(0);
  const withCrc = Buffer.allocUnsafe(last.length + 4);
  withCrc.set(last, 0);
  withCrc.writeUInt32BE(crc, last.length);
  yield withCrc;
}

/**
 * Verifies a snapshot stream and returns its entries, lazily: the whole stream is joined
 * and checked (magic, structure, count, checksum) before the first entry is handed out, and
 * the entries are then views into it (no per-entry copies).
 */
export function readSnapshot(chunks: Iterable<Uint8Array>): Iterable<BackendEntry> {
  const parts = [...chunks];
  const data = Buffer.concat(parts);
  if (data.length < MAGIC.length + 9 || !data.subarray(0, MAGIC.length).equals(MAGIC)) throw new SnapshotCorruptError('bad magic or truncated stream');
  const crcAt = data.length - 4;
  if (data.readUInt32BE(crcAt) !== crc32c(data.subarray(0, crcAt))) throw new SnapshotCorruptError('checksum mismatch');
  // Walk the records once to check their framing and count.
  let at = MAGIC.length;
  let count = 0;
  for (;;) {
    if (at >= crcAt) throw new SnapshotCorruptError('truncated stream');
    const tag = data[at]!;
    if (tag === TRAILER) break;
    if (BUCKETS[tag] === undefined) throw new SnapshotCorruptError(`unknown bucket index ${tag}`);
    if (at + 5 > crcAt) throw new SnapshotCorruptError('truncated record');
    const keyLength = data.readUInt32BE(at + 1);
    if (keyLength === 0) throw new SnapshotCorruptError('empty key');
    const valueAt = at + 5 + keyLength;
    if (valueAt + 4 > crcAt) throw new SnapshotCorruptError('truncated record');
    at = valueAt + 4 + data.readUInt32BE(valueAt);
    count += 1;
  }
  if (at + 5 !== crcAt) throw new SnapshotCorruptError('trailing bytes after the trailer');
  if (data.readUInt32BE(at + 1) !== count) throw new SnapshotCorruptError(`trailer count ${data.readUInt32BE(at + 1)} differs from ${count} records`);
  return {
    *[Symbol.iterator]() {
      let pos = MAGIC.length;
      while (data[pos] !== TRAILER) {
        const bucket = BUCKETS[data[pos]!]!;
        const keyLength = data.readUInt32BE(pos + 1);
        const key = data.toString('latin1', pos + 5, pos + 5 + keyLength);
        const valueAt = pos + 5 + keyLength;
        const valueLength = data.readUInt32BE(valueAt);
        const value = new Uint8Array(data.buffer, data.byteOffset + valueAt + 4, valueLength);
        pos = valueAt + 4 + valueLength;
        yield { bucket, key, value };
      }
    },
  };
}

/** Replaces the contents of `backend` with a verified snapshot stream. */
export function restoreSnapshot(backend: Backend, chunks: Iterable<Uint8Array>): void {
  backend.replaceAll(readSnapshot(chunks));
  backend.flush();
}
