import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
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
  /** Told how long each commit to disk took, in seconds (the member's backend commit metric). */
  readonly onCommitSeconds?: (seconds: number) => void;
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
  private env: RootDatabase;
  /** While a compacting copy runs, writes stay buffered (the copy must see one fixed state). */
  private compacting = false;
  /** Set when the contents were replaced during a copy: the copy is stale and must not be swapped in. */
  private copyStale = false;
  private readonly dbs = new Map<Bucket, Database<Buffer, Buffer>>();
  private pending = new Map<Bucket, SortedMap<Uint8Array | null>>();
  private pendingOps = 0;
  /** Key and value bytes of the buffered writes (size() counts them before they are committed). */
  private pendingBytes = 0;
  private readonly batchOps: number;
  private readonly onCommitSeconds: ((seconds: number) => void) | undefined;
  private closed = false;
  readonly path: string;

  constructor(options: LmdbBackendOptions) {
    this.path = options.path;
    this.onCommitSeconds = options.onCommitSeconds;
    this.batchOps = requireInteger('batchOps', options.batchOps ?? DEFAULT_BATCH_OPS, 1, 10_000_000);
    // A defragment killed mid-copy leaves its unfinished copy behind: never used, so removed.
    rmSync(defragPath(options.path), { recursive: true, force: true });
    this.env = this.openEnv();
    for (const bucket of BUCKETS) this.pending.set(bucket, new SortedMap());
  }

  private openEnv(): RootDatabase {
    const env = open({ path: this.path, maxDbs: 8 });
    for (const bucket of BUCKETS) this.dbs.set(bucket, env.openDB<Buffer, Buffer>(bucket, { keyEncoding: 'binary', encoding: 'binary' }));
    return env;
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
    const pageBytes = this.pageBytes();
    for (const op of ops) {
      const previous = this.pending.get(op.bucket)!.set(op.key, op.value);
      if (previous !== undefined) this.pendingBytes -= storedBytes(op.key.length, previous?.byteLength ?? 0, pageBytes);
      this.pendingBytes += storedBytes(op.key.length, op.value?.byteLength ?? 0, pageBytes);
    }
    this.pendingOps += ops.length;
    if (this.pendingOps >= this.batchOps) this.flush();
  }

  /**
   * The entry's pages, plus (when it would start a new batch) the pages a commit copies: lmdb
   * writes touched leaf and branch pages anew and frees the old ones only for later commits,
   * so a commit grows the file by a few pages beyond its data. Seen in the quota process test:
   * without it the file ended 1 page past the quota.
   */
  storedBytes(keyBytes: number, valueBytes: number): number {
    const pageBytes = this.pageBytes();
    return storedBytes(keyBytes, valueBytes, pageBytes) + (this.pendingOps === 0 ? COMMIT_OVERHEAD_PAGES * pageBytes : 0);
  }

  private pageBytesCached = 0;
  private pageBytes(): number {
    if (this.pageBytesCached === 0) this.pageBytesCached = (this.env.getStats() as LmdbStats).pageSize;
    return this.pageBytesCached;
  }

  flush(): void {
    this.checkOpen();
    // During a compacting copy the writes stay buffered (and readable); the raft snapshot and
    // WAL cover them until then, as they cover any write not yet committed.
    if (this.pendingOps === 0 || this.compacting) return;
    const startedMs = performance.now();
    this.env.transactionSync(() => {
      for (const [bucket, overlay] of this.pending) {
        const db = this.db(bucket);
        for (const [key, value] of overlay.entries()) {
          if (value === null) db.removeSync(Buffer.from(key, 'latin1'));
          else db.putSync(Buffer.from(key, 'latin1'), Buffer.from(value.buffer, value.byteOffset, value.byteLength));
        }
      }
    });
    this.onCommitSeconds?.((performance.now() - startedMs) / 1000);
    for (const overlay of this.pending.values()) overlay.clear();
    this.pendingOps = 0;
    this.pendingBytes = 0;
  }

  replaceAll(entries: Iterable<BackendEntry>): void {
    this.checkOpen();
    this.copyStale = this.compacting;
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
    const pendingBytes = this.pendingBytes + (this.pendingOps > 0 ? COMMIT_OVERHEAD_PAGES * envStats.pageSize : 0);
    return {
      totalBytes: (envStats.lastPageNumber + 1) * envStats.pageSize + pendingBytes,
      inUseBytes: inUsePages * envStats.pageSize + pendingBytes,
    };
  }

  /**
   * LMDB never shrinks its file, so the space of deleted pages is given back the way etcd
   * rewrites bbolt: a compacting copy (mdb_env_copy2 with MDB_CP_COMPACT) of the committed
   * state into `<path>.defrag/`, fsynced, then renamed over `data.mdb` (atomic) and reopened.
   * Writes made during the copy stay buffered and are committed into the new file afterwards.
   */
  async defragment(): Promise<void> {
    this.checkOpen();
    if (this.compacting) throw new Error('a defragment is already running on this backend');
    this.flush();
    this.compacting = true;
    this.copyStale = false;
    const copyDir = defragPath(this.path);
    try {
      rmSync(copyDir, { recursive: true, force: true });
      mkdirSync(copyDir, { recursive: true });
      await this.env.backup(copyDir, true);
      if (this.closed || this.copyStale) return;
      const copy = join(copyDir, 'data.mdb');
      const fd = openSync(copy, 'r+');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      // Synchronous from here on: no read or write can run between the swap and the reopen.
      renameSync(copy, join(this.path, 'data.mdb'));
      syncDirectory(this.path);
      const old = this.env;
      this.dbs.clear();
      void old.close();
      this.env = this.openEnv();
    } finally {
      this.compacting = false;
      rmSync(copyDir, { recursive: true, force: true });
    }
    if (this.pendingOps >= this.batchOps) this.flush();
  }

  close(): void {
    if (this.closed) return;
    this.compacting = false;
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

/** Where a defragment builds its compacted copy: beside the environment, on the same file system (rename must be atomic). */
function defragPath(path: string): string {
  return `${path}.defrag`;
}

function syncDirectory(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Pages one commit may add beyond its entries (copied leaf/branch pages of the touched trees). */
const COMMIT_OVERHEAD_PAGES = 4;

/**
 * What a buffered write will take in the file once committed, so that size() (and the quota
 * check on it) does not jump at the next commit: a value too large for a leaf page's half
 * goes to its own overflow pages (whole pages, with a 16-byte page header), and the leaf
 * keeps a node for the key (8-byte node header, 2-byte slot). A buffered delete counts
 * nothing until committed (lmdb reuses freed pages only later, as bbolt does).
 */
export function storedBytes(keyBytes: number, valueBytes: number, pageBytes: number): number {
  if (valueBytes === 0) return 0;
  const node = keyBytes + 8 + 2;
  if (node + valueBytes <= pageBytes / 2) return node + valueBytes;
  return node + 8 + Math.ceil((valueBytes + 16) / pageBytes) * pageBytes;
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
