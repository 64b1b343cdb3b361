import { assert } from '../../base/assert.js';
import { BUCKETS, type Backend, type BackendEntry, type BackendOp, type BackendSize, type Bucket } from './backend.js';
import { type ByteString, fromByteString, toByteString } from './bytes.js';
import { BackendClosedError } from './errors.js';
import { SortedMap } from './sorted-map.js';

/**
 * The `memory` engine: every bucket is a SortedMap in RAM, values held as byte strings
 * (a one-byte-per-char string costs a fraction of a Uint8Array object). Nothing reaches disk
 * here: a member on this engine is made durable by raft snapshots (produced from
 * `entries()` by snapshot.ts) plus the WAL, and restarts by `replaceAll` from the snapshot
 * and replaying the WAL after the applied index stored in the snapshot.
 *
 * Its reported size behaves like etcd's bbolt file so that the quota, Status' DB SIZE and
 * defragment mean the same on both engines: `inUseBytes` is the live key and value bytes, and
 * `totalBytes` (`heldBytes`) the most the store has held since it was last rebuilt. Freed space
 * is reused by later writes before the store grows (as bbolt reuses freed pages), and only
 * `defragment` or a `replaceAll` (a fresh store) give it back.
 */
export class MemoryBackend implements Backend {
  readonly engine = 'memory' as const;
  private buckets = new Map<Bucket, SortedMap<string>>(BUCKETS.map((name) => [name, new SortedMap<string>()]));
  private closed = false;
  /** Bytes of all keys and values, kept up to date by every change. */
  private bytes = 0;
  /** The high-water mark of `bytes` since the maps were last rebuilt: what a bbolt file would occupy. */
  private heldBytes = 0;

  get(bucket: Bucket, key: ByteString): Uint8Array | undefined {
    const value = this.map(bucket).get(key);
    return value === undefined ? undefined : fromByteString(value);
  }

  *range(bucket: Bucket, start: ByteString, end?: ByteString): IterableIterator<[ByteString, Uint8Array]> {
    for (const [key, value] of this.map(bucket).entries(start, end)) yield [key, fromByteString(value)];
  }

  write(ops: readonly BackendOp[]): void {
    this.checkOpen();
    // Validate first so that a bad op cannot leave half a write applied.
    for (const op of ops) assert(op.key.length > 0 && this.buckets.has(op.bucket), 'backend op needs a known bucket and a non-empty key');
    for (const op of ops) {
      const map = this.buckets.get(op.bucket)!;
      const previous = op.value === null ? map.delete(op.key) : map.set(op.key, toByteString(op.value));
      if (previous !== undefined) this.bytes -= op.key.length + previous.length;
      if (op.value !== null) this.bytes += op.key.length + op.value.length;
    }
    if (this.bytes > this.heldBytes) this.heldBytes = this.bytes;
  }

  flush(): void {
    this.checkOpen();
  }

  replaceAll(entries: Iterable<BackendEntry>): void {
    this.checkOpen();
    const fresh = new Map<Bucket, SortedMap<string>>(BUCKETS.map((name) => [name, new SortedMap<string>()]));
    let bytes = 0;
    for (const entry of entries) {
      const map = fresh.get(entry.bucket);
      assert(map !== undefined && entry.key.length > 0, 'snapshot entry needs a known bucket and a non-empty key');
      const previous = map.set(entry.key, toByteString(entry.value));
      bytes += entry.key.length + entry.value.length - (previous === undefined ? 0 : entry.key.length + previous.length);
    }
    this.buckets = fresh;
    this.bytes = bytes;
    this.heldBytes = bytes;
  }

  *entries(): IterableIterator<BackendEntry> {
    for (const bucket of BUCKETS) {
      for (const [key, value] of this.map(bucket).entries()) yield { bucket, key, value: fromByteString(value) };
    }
  }

  storedBytes(keyBytes: number, valueBytes: number): number {
    return keyBytes + valueBytes;
  }

  size(): BackendSize {
    this.checkOpen();
    return { totalBytes: this.heldBytes, inUseBytes: this.bytes };
  }

  /**
   * Rebuilds every bucket's map, dropping the slack its chunk arrays kept after deletes; the
   * reported size shrinks to the live bytes here and only here.
   */
  defragment(): Promise<void> {
    this.checkOpen();
    this.replaceAll([...this.entries()]);
    return Promise.resolve();
  }

  close(): void {
    this.closed = true;
    this.buckets = new Map(); // let the contents be collected even if this object lives on
  }

  private map(bucket: Bucket): SortedMap<string> {
    this.checkOpen();
    const map = this.buckets.get(bucket);
    assert(map !== undefined, () => `unknown bucket ${bucket}`);
    return map;
  }

  private checkOpen(): void {
    if (this.closed) throw new BackendClosedError(this.engine);
  }
}
