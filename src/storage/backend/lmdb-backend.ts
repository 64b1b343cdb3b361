import { open, type Database, type RootDatabase } from 'lmdb';
import { assert } from '../../base/assert.js';
import { requireInteger } from '../../base/validate.js';
import { BUCKETS, type Backend, type BackendEntry, type BackendOp, type BackendSize, type Bucket } from './backend.js';
import { type ByteString, toByteString } from './bytes.js';
import { BackendClosedError } from './errors.js';
import { SortedMap } from './sorted-map.js';

export interface LmdbBackendOptions {
  /** Directory of the LMDB environment (created if missing). */
  readonly path: string;
  /**
   * Writes buffered before an automatic commit (default 10,000, etcd's bbolt batch limit).
   * Buffered writes are visible to reads at once; `flush()` commits them earlier.
   */
  readonly batchOps?: number;
}

const DEFAULT_BATCH_OPS = 10_000;

/**
 * The `lmdb` engine: an on-disk B+tree (LMDB through the `lmdb` package), one named database
 * per bucket. Like etcd's bbolt backend it batches: writes go to an in-memory overlay that
 * reads consult first, and are committed in one LMDB transaction (fsynced, LMDB's default)
 * every `batchOps` writes or on `flush()`. Each `write()` lands in a single batch, so the
 * applied index stored with a write is always committed together with the state it
 * describes; a crash loses at most whole trailing writes, which the WAL replays.
 */
export class LmdbBackend implements Backend {
  readonly engine = 'lmdb' as const;
  private readonly env: RootDatabase;
  private readonly dbs = new Map<Bucket, Database<Buffer, Buffer>>();
  private pending = new Map<Bucket, SortedMap<Uint8Array | null>>();
  private pendingOps = 0;
  /** Key and value bytes of the buffered writes (size() counts them before they are committed). */
  private pendingBytes = 0;
  private readonly batchOps: number;
  private closed = false;
  readonly path: string;

  constructor(options: LmdbBackendOptions) {
    this.path = options.path;
    this.batchOps = requireInteger('batchOps', options.batchOps ?? DEFAULT_BATCH_OPS, 1, 10_000_000);
    this.env = open({ path: options.path, maxDbs: 8 });
    for (const bucket of BUCKETS) {
      this.dbs.set(bucket, this.env.openDB<Buffer, Buffer>(bucket, { keyEncoding: 'binary', encoding: 'binary' }));
      this.pending.set(bucket, new SortedMap());
    }
  }

  get(bucket: Bucket, key: ByteString): Uint8Array | undefined {
    this.checkOpen();
    const buffered = this.pending.get(bucket)!.get(key);
    if (buffered !== undefined) return buffered ?? undefined;
    const value = this.db(bucket).get(Buffer.from(key, 'latin1'));
    return value === undefined ? undefined : asPlain(value);
  }

  range(bucket: Bucket, start: ByteString, end?: ByteString): IterableIterator<[ByteString, Uint8Array]> {
    this.checkOpen();
    const overlay = this.pending.get(bucket)!.entries(start, end);
    const rangeOptions = { start: Buffer.from(start, 'latin1'), ...(end === undefined ? {} : { end: Buffer.from(end, 'latin1') }) };
    const stored = this.db(bucket).getRange(rangeOptions)[Symbol.iterator]();
    return mergeRanges(overlay, stored);
  }

  write(ops: readonly BackendOp[]): void {
    this.checkOpen();
    for (const op of ops) assert(op.key.length > 0 && this.pending.has(op.bucket), 'backend op needs a known bucket and a non-empty key');
    for (const op of ops) {
      const previous = this.pending.get(op.bucket)!.set(op.key, op.value);
      if (previous !== undefined) this.pendingBytes -= op.key.length + (previous?.byteLength ?? 0);
      this.pendingBytes += op.key.length + (op.value?.byteLength ?? 0);
    }
    this.pendingOps += ops.length;
    if (this.pendingOps >= this.batchOps) this.flush();
  }

  flush(): void {
    this.checkOpen();
    if (this.pendingOps === 0) return;
    this.env.transactionSync(() => {
      for (const [bucket, overlay] of this.pending) {
        const db = this.db(bucket);
        for (const [key, value] of overlay.entries()) {
          if (value === null) db.removeSync(Buffer.from(key, 'latin1'));
          else db.putSync(Buffer.from(key, 'latin1'), Buffer.from(value.buffer, value.byteOffset, value.byteLength));
        }
      }
    });
    for (const overlay of this.pending.values()) overlay.clear();
    this.pendingOps = 0;
    this.pendingBytes = 0;
  }

  replaceAll(entries: Iterable<BackendEntry>): void {
    this.checkOpen();
    for (const overlay of this.pending.values()) overlay.clear();
    this.pendingOps = 0;
    this.pendingBytes = 0;
    this.env.transactionSync(() => {
      for (const bucket of BUCKETS) this.db(bucket).clearSync();
      for (const entry of entries) {
        assert(entry.key.length > 0 && this.dbs.has(entry.bucket), 'snapshot entry needs a known bucket and a non-empty key');
        this.db(entry.bucket).putSync(Buffer.from(entry.key, 'latin1'), Buffer.from(entry.value.buffer, entry.value.byteOffset, entry.value.byteLength));
      }
    });
  }

  *entries(): IterableIterator<BackendEntry> {
    for (const bucket of BUCKETS) {
      for (const [key, value] of this.range(bucket, '')) yield { bucket, key, value };
    }
  }

  size(): BackendSize {
    this.checkOpen();
    const envStats = this.env.getStats() as LmdbStats & { lastPageNumber: number };
    let inUsePages = 0;
    for (const db of this.dbs.values()) {
      const stats = db.getStats() as LmdbStats;
      inUsePages += stats.treeBranchPageCount + stats.treeLeafPageCount + stats.overflowPages;
    }
    // Buffered writes count as if committed, so the quota holds between commits (an upper
    // bound: a buffered overwrite may reuse pages once committed).
    return {
      totalBytes: (envStats.lastPageNumber + 1) * envStats.pageSize + this.pendingBytes,
      inUseBytes: inUsePages * envStats.pageSize + this.pendingBytes,
    };
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    void this.env.close();
  }

  private db(bucket: Bucket): Database<Buffer, Buffer> {
    const db = this.dbs.get(bucket);
    assert(db !== undefined, () => `unknown bucket ${bucket}`);
    return db;
  }

  private checkOpen(): void {
    if (this.closed) throw new BackendClosedError(this.engine);
  }
}

/** The fields of lmdb's getStats() used by size(). */
interface LmdbStats {
  pageSize: number;
  treeBranchPageCount: number;
  treeLeafPageCount: number;
  overflowPages: number;
}

/** A plain Uint8Array view of a Buffer, so both engines hand out the same type. */
function asPlain(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/**
 * Merges the write overlay with the committed entries, both ascending: the overlay wins
 * on equal keys and its nulls hide committed keys. A consumer that stops early reaches
 * the finally block, which closes the LMDB cursor (and its read transaction).
 */
function* mergeRanges(
  overlay: IterableIterator<[string, Uint8Array | null]>,
  stored: Iterator<{ key: Buffer; value: Buffer }>,
): IterableIterator<[ByteString, Uint8Array]> {
  try {
    let a = overlay.next();
    let b = stored.next();
    let bKey = b.done ? undefined : toByteString(b.value.key);
    const advanceStored = (): void => {
      b = stored.next();
      bKey = b.done ? undefined : toByteString(b.value.key);
    };
    while (!a.done || !b.done) {
      if (!a.done && (b.done || a.value[0] <= bKey!)) {
        if (!b.done && a.value[0] === bKey) advanceStored();
        const [key, value] = a.value;
        a = overlay.next();
        if (value !== null) yield [key, value];
      } else if (!b.done) {
        const entry: [ByteString, Uint8Array] = [bKey!, asPlain(b.value.value)];
        advanceStored();
        yield entry;
      }
    }
  } finally {
    stored.return?.();
  }
}
