import type { ByteString } from './bytes.js';

/**
 * The buckets every backend holds, as in etcd's bbolt schema: `key` maps revision keys to
 * encoded KeyValues (the MVCC history), `meta` holds the applied index and compaction
 * marks, `lease` holds granted leases; `auth` and `members` are for the server's auth
 * store and membership, written in the same atomic apply as everything else. New buckets
 * go at the end: the snapshot stream names buckets by their index here.
 */
export const BUCKETS = ['key', 'meta', 'lease', 'auth', 'members'] as const;
export type Bucket = (typeof BUCKETS)[number];

/** One change in an atomic write: `value` null deletes the key. */
export interface BackendOp {
  readonly bucket: Bucket;
  readonly key: ByteString;
  readonly value: Uint8Array | null;
}

/** One stored entry, as read back or restored from a snapshot. */
export interface BackendEntry {
  readonly bucket: Bucket;
  readonly key: ByteString;
  readonly value: Uint8Array;
}

export type BackendEngine = 'memory' | 'lmdb';

export interface BackendSize {
  readonly totalBytes: number;
  readonly inUseBytes: number;
}

/**
 * An ordered key-value store with buckets, the storage contract MVCC is written against
 * (the analogue of etcd's bbolt backend). Keys are byte strings (see bytes.ts), never empty.
 *
 * Consistency: every `write` is atomic; readers see it at once (read-your-writes), and a
 * crash leaves either all of a `write` or none of it on disk. Durability: a write is on
 * disk after `flush()`; an engine may delay it until then (lmdb batches commits the way
 * etcd batches bbolt commits). Whatever was lost is re-applied from the raft WAL, which is
 * why MVCC stores the applied index in the same `write` as the state it produced.
 */
export interface Backend {
  readonly engine: BackendEngine;
  get(bucket: Bucket, key: ByteString): Uint8Array | undefined;
  /** Entries with start <= key < end (end undefined: to the last key), ascending by key. Do not write while iterating. */
  range(bucket: Bucket, start: ByteString, end?: ByteString): IterableIterator<[ByteString, Uint8Array]>;
  write(ops: readonly BackendOp[]): void;
  /** Makes every earlier write durable. */
  flush(): void;
  /** Atomically replaces the whole contents (all buckets) with `entries` (snapshot restore). */
  replaceAll(entries: Iterable<BackendEntry>): void;
  /** Every entry of every bucket, bucket by bucket in BUCKETS order, keys ascending (snapshot source). */
  entries(): IterableIterator<BackendEntry>;
  /**
   * Storage size without walking the data (for Status and the quota): `totalBytes` is what
   * the store occupies, `inUseBytes` what its live data uses (etcd's dbSize and
   * dbSizeInUse). On both engines `totalBytes` behaves like bbolt's file: it grows with writes,
   * freed space is reused, and it shrinks only on `defragment` (or `replaceAll`), never on a
   * delete or compaction. memory: the most key and value bytes held since the last rebuild, and
   * the live key and value bytes; lmdb: file pages up to the last used one, and pages of the
   * trees, as of the last commit, plus the key and value bytes of writes buffered since (so a
   * quota check sees them).
   */
  size(): BackendSize;
  /**
   * What one stored entry of these sizes takes in the engine's file (page rounding and
   * overflow pages included), for a quota that must hold once the write is committed.
   */
  storedBytes(keyBytes: number, valueBytes: number): number;
  /**
   * Rewrites the store compactly so the space of deleted and compacted data is given back (etcd's
   * defragment rewrites its bbolt file). Reads and writes may go on meanwhile; a crash at any
   * point leaves the old or the new copy, never a mix.
   */
  defragment(): Promise<void>;
  close(): void;
}
