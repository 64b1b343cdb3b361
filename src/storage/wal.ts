import type { Deferred } from '../base/deferred.js';
import { deferred } from '../base/deferred.js';
import type { Entry, HardState } from '../raft/types.js';
import { hardStateEqual, isEmptyHardState } from '../raft/types.js';
import { RecordTooLargeError, StorageClosedError, StorageFatalError, WalBackpressureError } from './errors.js';
import type { FileSystem } from './file-system.js';
import type { ResolvedStorageOptions } from './options.js';
import { MAX_RECORD_BYTES_LIMIT } from './options.js';
import { encodeEntry, encodeHardState } from './raft-codec.js';
import { encodeRecords, RecordType } from './wal-record.js';
import { createSegment, prepareFile } from './wal-segment.js';
import type { OpenSegment, PreparedFile } from './wal-segment.js';
import type { SnapshotMarker } from './wal-payloads.js';
import { encodeSnapshotMarker } from './wal-payloads.js';
import { io, readWal } from './wal-reader.js';
import type { WalReadResult, WalSegmentInfo, WalTailRepair } from './wal-reader.js';
import type { WalReplay } from './wal-replay.js';

/** One unit of WAL writing: durable together (or not at all acknowledged). Written in this order. */
export interface WalBatch {
  readonly marker?: SnapshotMarker;
  readonly entries?: readonly Entry[];
  readonly hardState?: HardState;
  /**
   * Default true. False (Raft's `mustSync` false: only the commit index moved) is honoured for
   * a batch with nothing but a hard state: it costs no disk work of its own. It rides along
   * with the batch still queued (or, with none queued, with the next one written, the next
   * segment's preamble, or close), and a crash before that may drop it. A batch with entries
   * or a marker is always synced.
   */
  readonly sync?: boolean;
}

export interface WalStats {
  /** Group-commit batches written (each one write and one fdatasync). */
  batches: number;
  /** append() calls made durable. */
  appends: number;
  records: number;
  bytes: number;
  fsyncs: number;
  segmentsCut: number;
  segmentsReleased: number;
}

interface Pending {
  bytes: Uint8Array;
  readonly batch: WalBatch;
  /** A later commit-index-only hard state that rides along with this batch (written after it). */
  carriedHardState: HardState | undefined;
  recordCount: number;
  readonly done: Deferred<void>;
}


/**
 * The write-ahead log writer. `append` queues a batch and resolves only once it is on disk
 * (written and fdatasynced); concurrent appends are written together with one fdatasync
 * (group commit), in the order append was called. A write or fdatasync failure stops the WAL
 * for good: every queued append rejects with the StorageFatalError, `onFatal` is called, and
 * nothing is retried.
 *
 * No AbortSignal on append, on purpose: once bytes are queued they may reach the disk whatever
 * the caller does, so an abort could only lie about the outcome.
 */
export class Wal {
  readonly stats: WalStats = { batches: 0, appends: 0, records: 0, bytes: 0, fsyncs: 0, segmentsCut: 0, segmentsReleased: 0 };
  private readonly queue: Pending[] = [];
  private pendingBytes = 0;
  private running: Promise<void> = Promise.resolve();
  /** True while drain() runs; cleared synchronously as it exits, so no append can be stranded. */
  private draining = false;
  private failure: StorageFatalError | undefined;
  private closed = false;
  private releasing: Promise<void> = Promise.resolve();
  private lastIndex: number;
  private hardState: HardState;
  private markers: SnapshotMarker[];
  /**
   * A commit-index-only hard state (sync false) that arrived with nothing queued: written
   * before the next batch, in the next segment's preamble, or on close. Every entry it could
   * name is already durable (nothing was queued when it came).
   */
  private deferredHardState: HardState | undefined;
  /** The next segment's file, being pre-allocated in the background. */
  private prepared: Promise<PreparedFile> | undefined;

  private constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    private readonly options: ResolvedStorageOptions,
    private readonly segments: WalSegmentInfo[],
    private segment: OpenSegment,
    replay: WalReplay,
  ) {
    this.lastIndex = replay.lastIndex ?? 0;
    this.hardState = replay.hardState;
    this.markers = replay.markers.slice(-options.snapshotsKept).map((m) => ({ ...m, replacesLog: false }));
  }

  private prepareNext(): void {
    const prepared = prepareFile(this.fs, this.dir, this.segment.info.seq + 1, this.options.segmentBytes);
    // Its failure is handled when a cut awaits it (as a fatal error then); not before, because
    // a member that never cuts again must not stop for a file it will not use.
    prepared.catch(() => undefined);
    this.prepared = prepared;
  }

  /** Reads, verifies and (for a torn tail) repairs the WAL in `dir`, creating it if empty. */
  static async open(fs: FileSystem, dir: string, options: ResolvedStorageOptions): Promise<{ wal: Wal; replay: WalReplay; repair: WalTailRepair | undefined }> {
    const read: WalReadResult = await readWal(fs, dir, MAX_RECORD_BYTES_LIMIT, options.logger);
    const segments = read.segments;
    let segment: OpenSegment;
    const last = segments[segments.length - 1];
    if (last === undefined) {
      const firstIndex = (read.replay.lastIndex ?? 0) + 1;
      segment = await createSegment(fs, dir, options, { seq: 0, firstIndex }, new Uint8Array(0));
      segments.push(segment.info);
    } else {
      const handle = await io('open', last.path, () => fs.open(last.path, { durableWrites: true }));
      segment = { info: last, handle, offset: read.tailOffset, preambleEnd: read.tailPreambleEnd };
    }
    return { wal: new Wal(fs, dir, options, segments, segment, read.replay), replay: read.replay, repair: read.repair };
  }

  /** Segment files currently part of the log, oldest first. */
  segmentFiles(): readonly WalSegmentInfo[] {
    return this.segments.slice();
  }

  /** Resolves once `batch` is durable (written, if `sync` is false). Rejects with StorageFatalError if the disk failed first. */
  append(batch: WalBatch): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(new StorageClosedError('stopped after a fatal storage error', this.failure));
    if (this.closed) return Promise.reject(new StorageClosedError('wal closed'));
    const records: { type: RecordType; payload: Uint8Array }[] = [];
    if (batch.marker !== undefined) records.push({ type: RecordType.SnapshotMarker, payload: encodeSnapshotMarker(batch.marker) });
    for (const entry of batch.entries ?? []) {
      const payload = encodeEntry(entry);
      if (payload.length > this.options.maxRecordBytes) {
        return Promise.reject(new RecordTooLargeError(`raft entry ${entry.index}`, payload.length, this.options.maxRecordBytes));
      }
      records.push({ type: RecordType.Entry, payload });
    }
    if (batch.sync === false && records.length === 0 && batch.hardState !== undefined) return this.defer(batch.hardState);
    if (batch.hardState !== undefined) records.push({ type: RecordType.HardState, payload: encodeHardState(batch.hardState) });
    if (records.length === 0) return Promise.resolve();
    const bytes = encodeRecords(records);
    if (bytes.length > this.options.maxPendingBytes) {
      return Promise.reject(new RecordTooLargeError('wal batch', bytes.length, this.options.maxPendingBytes));
    }
    if (this.pendingBytes + bytes.length > this.options.maxPendingBytes) {
      return Promise.reject(new WalBackpressureError(this.pendingBytes, this.options.maxPendingBytes));
    }
    const done = deferred<void>();
    this.queue.push({ bytes, batch, carriedHardState: undefined, recordCount: records.length, done });
    this.pendingBytes += bytes.length;
    if (!this.draining) {
      this.draining = true;
      this.running = this.drain();
    }
    return done.promise;
  }

  /**
   * A commit-index-only hard state: no disk work of its own. With batches queued it is appended
   * to the last one (it came after them and before anything later); otherwise it waits for the
   * next write. Resolves at once: raft does not need it durable (mustSync false).
   */
  private defer(hardState: HardState): Promise<void> {
    const last = this.queue[this.queue.length - 1];
    if (last !== undefined) {
      const record = encodeRecords([{ type: RecordType.HardState, payload: encodeHardState(hardState) }]);
      const merged = new Uint8Array(last.bytes.length + record.length);
      merged.set(last.bytes, 0);
      merged.set(record, last.bytes.length);
      this.pendingBytes += record.length;
      last.bytes = merged;
      last.carriedHardState = hardState;
      last.recordCount += 1;
    } else {
      this.deferredHardState = hardState;
    }
    this.stats.appends += 1;
    return Promise.resolve();
  }

  /**
   * Removes the segments whose every entry is at or below `index` (a snapshot covers them).
   * The last segment is never removed. Each unlink is made durable before the next, so a crash
   * leaves a suffix of the log, never a hole.
   */
  releaseTo(index: number): Promise<void> {
    const run = async (): Promise<void> => {
      while (this.failure === undefined && this.segments.length > 1 && this.segments[1]!.firstIndex <= index + 1) {
        const oldest = this.segments[0]!;
        await this.guard(async () => {
          await io('unlink', oldest.path, () => this.fs.remove(oldest.path));
          await io('fsync dir', this.dir, () => this.fs.syncDir(this.dir));
        });
        this.segments.shift();
        this.stats.segmentsReleased += 1;
      }
      if (this.failure !== undefined) throw new StorageClosedError('stopped after a fatal storage error', this.failure);
    };
    this.releasing = this.releasing.then(run, run);
    return this.releasing;
  }

  /** Waits for queued appends to become durable, then closes the segment. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await this.running;
    await this.releasing.catch(() => undefined);
    if (this.deferredHardState !== undefined && this.failure === undefined) {
      const hardState = this.deferredHardState;
      const bytes = encodeRecords([{ type: RecordType.HardState, payload: encodeHardState(hardState) }]);
      await this.guard(() => this.writeDurably(bytes)).then(() => {
        this.segment.offset += bytes.length;
        this.deferredHardState = undefined;
        this.hardState = hardState;
      }, () => undefined);
    }
    await this.segment.handle.close().catch(() => undefined);
    const prepared = await this.prepared?.catch(() => undefined);
    this.prepared = undefined;
    if (prepared !== undefined) {
      await prepared.handle.close().catch(() => undefined);
      await this.fs.remove(prepared.path).catch(() => undefined);
    }
  }

  private async drain(): Promise<void> {
    // `draining` is cleared in the same synchronous step as the final queue check: a caller
    // whose append resolved runs only after that, so its next append always starts a drain.
    for (;;) {
      if (this.queue.length === 0 || this.failure !== undefined) {
        this.draining = false;
        return;
      }
      const group: Pending[] = [this.queue.shift()!];
      let size = group[0]!.bytes.length;
      while (this.queue.length > 0 && size + this.queue[0]!.bytes.length <= this.options.maxBatchBytes) {
        const next = this.queue.shift()!;
        group.push(next);
        size += next.bytes.length;
      }
      const queuedSize = size;
      let bytes = group.length === 1 ? group[0]!.bytes : concat(group, size);
      const carried = this.deferredHardState;
      try {
        await this.guard(async () => {
          if (this.segment.offset > this.segment.preambleEnd && this.segment.offset + size > this.options.segmentBytes) await this.cut();
          // A cut writes a deferred hard state into the new segment's preamble.
          if (this.deferredHardState !== undefined) {
            const record = encodeRecords([{ type: RecordType.HardState, payload: encodeHardState(this.deferredHardState) }]);
            const withRecord = new Uint8Array(record.length + bytes.length);
            withRecord.set(record, 0);
            withRecord.set(bytes, record.length);
            bytes = withRecord;
            size = bytes.length;
          }
          await this.writeDurably(bytes);
        });
      } catch (error) {
        if (this.failure === undefined) this.pendingBytes -= queuedSize;
        for (const pending of group) pending.done.reject(error);
        continue;
      }
      if (carried !== undefined && this.deferredHardState === carried) {
        this.deferredHardState = undefined;
        this.hardState = carried;
      }
      this.segment.offset += size;
      this.pendingBytes -= queuedSize;
      // Half way through a segment, start pre-allocating the next one (not earlier: writing
      // that many zeros competes with the appends' own fdatasyncs).
      if (this.prepared === undefined && this.segment.offset >= this.options.segmentBytes / 2) this.prepareNext();
      this.stats.batches += 1;
      this.stats.fsyncs += 1;
      this.stats.bytes += size;
      for (const pending of group) {
        this.remember(pending.batch);
        if (pending.carriedHardState !== undefined) this.hardState = pending.carriedHardState;
        this.stats.appends += 1;
        this.stats.records += pending.recordCount;
        pending.done.resolve();
      }
      // Let the writers just acknowledged append again before the next batch is cut: otherwise
      // W steady writers split into two alternating half-size batches (W/2 per fdatasync).
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Tracks what a new segment's preamble must repeat: last index, hard state, kept markers. */
  private remember(batch: WalBatch): void {
    if (batch.marker !== undefined) {
      this.markers = [...this.markers, { ...batch.marker, replacesLog: false }].slice(-this.options.snapshotsKept);
      if (batch.marker.replacesLog) this.lastIndex = batch.marker.index;
    }
    const entries = batch.entries ?? [];
    if (entries.length > 0) this.lastIndex = entries[entries.length - 1]!.index;
    if (batch.hardState !== undefined) this.hardState = batch.hardState;
  }

  /**
   * Writes `bytes` at the end of the segment, durable when it resolves: one O_DSYNC write when
   * the segment was opened with durable writes (one thread-pool job), else write + fdatasync.
   */
  private async writeDurably(bytes: Uint8Array): Promise<void> {
    const { handle, info, offset } = this.segment;
    // With O_DSYNC a failed flush is reported by the write itself: named for both.
    if (handle.durableWrites === true) return io('write+fdatasync', info.path, () => handle.write(offset, bytes));
    await io('write', info.path, () => handle.write(offset, bytes));
    await io('fdatasync', info.path, () => handle.sync());
  }

  /**
   * Runs storage work (the WAL's own, or the snapshot files' through DiskStorage); the first
   * failure stops the WAL for good, everything queued fails with it, and onFatal is called.
   */
  async guard<T>(work: () => Promise<T>): Promise<T> {
    if (this.failure !== undefined) throw new StorageClosedError('stopped after a fatal storage error', this.failure);
    try {
      return await work();
    } catch (error) {
      // Only I/O failures stop the WAL; a refused argument (e.g. an oversized snapshot) does not.
      if (!(error instanceof StorageFatalError)) throw error;
      if (this.failure === undefined) {
        this.failure = error;
        for (const pending of this.queue.splice(0)) pending.done.reject(error);
        this.pendingBytes = 0;
        this.options.logger.error('wal: fatal storage error, stopping', { code: error.code, message: error.message });
        this.options.onFatal(error);
      }
      throw error;
    }
  }

  /** Whether the WAL stopped after a fatal error (then nothing more is accepted). */
  get failed(): StorageFatalError | undefined {
    return this.failure;
  }

  private async cut(): Promise<void> {
    // Every write is durable when it resolves, so the old segment has no unsynced tail. A
    // deferred hard state goes into the new segment's preamble.
    if (this.deferredHardState !== undefined) {
      this.hardState = this.deferredHardState;
      this.deferredHardState = undefined;
    }
    const info = { seq: this.segment.info.seq + 1, firstIndex: this.lastIndex + 1 };
    const preamble: { type: RecordType; payload: Uint8Array }[] = this.markers.map((marker) => ({
      type: RecordType.SnapshotMarker,
      payload: encodeSnapshotMarker(marker),
    }));
    if (!isEmptyHardState(this.hardState)) preamble.push({ type: RecordType.HardState, payload: encodeHardState(this.hardState) });
    const prepared = this.prepared;
    this.prepared = undefined;
    const next = await createSegment(this.fs, this.dir, this.options, info, encodeRecords(preamble), prepared);
    const previous = this.segment;
    this.segment = next;
    this.segments.push(next.info);
    this.stats.segmentsCut += 1;
    // The old segment is fully synced; a failing close cannot lose data, so it is only logged.
    await previous.handle.close().catch((error: unknown) => this.options.logger.warn('wal: closing a segment failed', { error: String(error) }));
  }

  /** For tests: the hard state a new segment would repeat. */
  lastHardState(): HardState {
    return this.hardState;
  }

  hardStateChanged(state: HardState): boolean {
    return !hardStateEqual(state, this.latestHardState());
  }

  /** The newest hard state handed to append (durable or still riding along). */
  private latestHardState(): HardState {
    if (this.deferredHardState !== undefined) return this.deferredHardState;
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const pending = this.queue[i]!;
      if (pending.carriedHardState !== undefined) return pending.carriedHardState;
      if (pending.batch.hardState !== undefined) return pending.batch.hardState;
    }
    return this.hardState;
  }
}

function concat(group: readonly Pending[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let offset = 0;
  for (const pending of group) {
    out.set(pending.bytes, offset);
    offset += pending.bytes.length;
  }
  return out;
}
