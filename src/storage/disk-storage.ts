import { assert } from '../base/assert.js';
import { LogUnavailableError, SnapshotOutOfDateError } from '../raft/errors.js';
import type { Storage } from '../raft/storage.js';
import { MemoryStorage } from '../raft/storage.js';
import type { ConfState, Entry, HardState, Snapshot } from '../raft/types.js';
import { isEmptyHardState, isEmptySnapshot } from '../raft/types.js';
import { SnapshotCorruptError, StorageUnrecoverableError } from './errors.js';
import type { FileSystem } from './file-system.js';
import { dirOf, joinPath } from './file-system.js';
import type { ResolvedStorageOptions, StorageOptions } from './options.js';
import { resolveStorageOptions } from './options.js';
import { SnapshotStore } from './snapshot-store.js';
import { Wal } from './wal.js';
import type { WalStats } from './wal.js';
import type { WalTailRepair } from './wal-reader.js';
import { io } from './wal-reader.js';
import { parseSegmentName } from './wal-payloads.js';
import type { WalReplay } from './wal-replay.js';

/** What one Ready asks to persist. */
export interface StorageUpdate {
  readonly hardState?: HardState;
  readonly entries?: readonly Entry[];
  /** A snapshot received from the leader; it replaces the log. */
  readonly snapshot?: Snapshot;
  /**
   * Raft's Ready.mustSync. Default true. False is honoured only for an update without entries
   * or snapshot (the commit index moved): it is written but not fdatasynced on its own.
   */
  readonly mustSync?: boolean;
}

export interface RecoveryReport {
  readonly snapshotIndex: number;
  readonly snapshotTerm: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly hardState: HardState;
  readonly walSegments: number;
  /** Set when the WAL's last segment had a torn tail that was truncated. */
  readonly walRepair: WalTailRepair | undefined;
  /** Newer snapshot files that could not be used, and why. */
  readonly skippedSnapshots: readonly string[];
}

/**
 * Raft's Storage over the WAL and the snapshot files, in the manner of etcd: on open the
 * newest usable snapshot is loaded and the WAL replayed into an in-memory MemoryStorage that
 * answers Raft's synchronous reads, so the leader never reads the disk on the hot path. Each
 * Ready is persisted with one `save()`, which resolves only once everything is fdatasynced.
 *
 * Layout under `dir`: `wal/` (segments) and `snap/` (snapshot files). Memory: every entry
 * since the last compaction is cached (at most the snapshot interval plus catchUpEntries).
 *
 * save() and createSnapshot() run one at a time, in call order (the Ready loop persists one
 * Ready at a time anyway); group commit happens inside the WAL across its concurrent callers.
 */
export class DiskStorage implements Storage {
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly wal: Wal,
    private readonly snapshots: SnapshotStore,
    private readonly cache: MemoryStorage,
    private readonly options: ResolvedStorageOptions,
    readonly recovery: RecoveryReport,
  ) {}

  static async open(fs: FileSystem, dir: string, storageOptions: StorageOptions = {}): Promise<DiskStorage> {
    const options = resolveStorageOptions(storageOptions);
    const walDir = joinPath(dir, 'wal');
    const snapDir = joinPath(dir, 'snap');
    await io('mkdir', walDir, () => fs.mkdirp(walDir));
    await io('mkdir', snapDir, () => fs.mkdirp(snapDir));
    // The subdirectories' names live in `dir`, and `dir`'s own name in its parent.
    await io('fsync dir', dir, () => fs.syncDir(dir));
    await io('fsync dir', dirOf(dir), () => fs.syncDir(dirOf(dir)));
    const snapshots = new SnapshotStore(fs, snapDir, options.maxSnapshotBytes);
    const snapFiles = await snapshots.list();
    const walNames = (await io('list', walDir, () => fs.list(walDir))).filter((name) => parseSegmentName(name) !== undefined);
    if (walNames.length === 0 && snapFiles.length > 0) {
      // Starting empty here would forget votes and acknowledged entries.
      throw new StorageUnrecoverableError(dir, `${snapFiles.length} snapshot file(s) but no WAL segment`);
    }
    const { wal, replay, repair } = await Wal.open(fs, walDir, options);
    try {
      const skipped: string[] = [];
      let chosen: Snapshot | undefined;
      for (const file of snapFiles) {
        if (!replay.hasMarker(file.index, file.term)) {
          skipped.push(`${file.name}: not recorded in the WAL (a save interrupted before its marker)`);
          continue;
        }
        const problem = coverageProblem(replay, file.index);
        if (problem !== undefined) {
          skipped.push(`${file.name}: ${problem}`);
          continue;
        }
        try {
          chosen = await snapshots.load(file);
          break;
        } catch (error) {
          if (!(error instanceof SnapshotCorruptError)) throw error;
          skipped.push(error.message);
          options.logger.error('snapshot: skipping a damaged snapshot file', { file: file.path, error: error.message });
          await snapshots.quarantine(file);
        }
      }
      if (chosen === undefined) {
        const problem = coverageProblem(replay, 0);
        if (problem !== undefined) throw new StorageUnrecoverableError(dir, `no usable snapshot and ${problem}; skipped: ${skipped.join('; ') || 'none'}`);
      }
      const cache = new MemoryStorage(chosen);
      const snapshotIndex = chosen?.metadata.index ?? 0;
      const firstKept = replay.entries.findIndex((entry) => entry.index > snapshotIndex);
      if (firstKept >= 0) cache.append(replay.entries.slice(firstKept));
      cache.setHardState(replay.hardState);
      if (!isEmptyHardState(replay.hardState) && replay.hardState.commit > cache.lastIndex()) {
        throw new StorageUnrecoverableError(dir, `hard state commit ${replay.hardState.commit} is beyond the last entry ${cache.lastIndex()}`);
      }
      const recovery: RecoveryReport = {
        snapshotIndex,
        snapshotTerm: chosen?.metadata.term ?? 0,
        firstIndex: cache.firstIndex(),
        lastIndex: cache.lastIndex(),
        hardState: replay.hardState,
        walSegments: wal.segmentFiles().length,
        walRepair: repair,
        skippedSnapshots: skipped,
      };
      options.logger.info('storage: recovered', { ...recovery });
      return new DiskStorage(wal, snapshots, cache, options, recovery);
    } catch (error) {
      await wal.close();
      throw error;
    }
  }

  // --- Raft's Storage: synchronous reads from the cache ---

  initialState(): { hardState: HardState; confState: ConfState } {
    return this.cache.initialState();
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    return this.cache.entries(lo, hi, maxBytes);
  }

  term(index: number): number {
    return this.cache.term(index);
  }

  lastIndex(): number {
    return this.cache.lastIndex();
  }

  firstIndex(): number {
    return this.cache.firstIndex();
  }

  snapshot(): Snapshot {
    return this.cache.snapshot();
  }

  // --- writes ---

  /**
   * Persists one Ready: a received snapshot (file first, then its WAL marker), the entries and
   * the hard state, all in one WAL batch with one fdatasync. Resolves once durable; only then
   * does the cache (what Raft reads) change. A disk failure rejects with StorageFatalError.
   */
  save(update: StorageUpdate): Promise<void> {
    return this.serialize(async () => {
      const snapshot = isEmptySnapshot(update.snapshot) ? undefined : update.snapshot!;
      const entries = update.entries ?? [];
      this.checkUpdate(snapshot, entries);
      if (snapshot !== undefined) await this.wal.guard(() => this.snapshots.save(snapshot));
      const hardState = update.hardState !== undefined && this.wal.hardStateChanged(update.hardState) ? update.hardState : undefined;
      const sync = update.mustSync !== false || entries.length > 0 || snapshot !== undefined;
      const startedMs = performance.now();
      await this.wal.append({
        marker: snapshot === undefined ? undefined : { index: snapshot.metadata.index, term: snapshot.metadata.term, replacesLog: true },
        entries,
        hardState,
        sync,
      });
      if (sync) this.options.onWalSyncSeconds((performance.now() - startedMs) / 1000);
      if (snapshot !== undefined) this.cache.applySnapshot(snapshot);
      this.cache.append(entries);
      if (update.hardState !== undefined) this.cache.setHardState(update.hardState);
      if (snapshot !== undefined) await this.releaseOld();
    });
  }

  /**
   * Records a snapshot the application made of its state at `index` (applied, so at most
   * lastIndex()): writes the file, records it in the WAL, keeps catchUpEntries entries behind
   * it in memory, removes snapshot files beyond snapshotsKept and WAL segments no kept
   * snapshot needs.
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<Snapshot> {
    return this.serialize(async () => {
      const current = this.cache.snapshot().metadata.index;
      if (index <= current) throw new SnapshotOutOfDateError(index, current);
      if (index > this.cache.lastIndex()) throw new LogUnavailableError(index, this.cache.lastIndex());
      const snapshot: Snapshot = { metadata: { index, term: this.cache.term(index), confState }, data };
      await this.wal.guard(() => this.snapshots.save(snapshot));
      await this.wal.append({ marker: { index, term: snapshot.metadata.term, replacesLog: false } });
      this.cache.createSnapshot(index, confState, data);
      const compactIndex = index - this.options.catchUpEntries;
      if (compactIndex >= this.cache.firstIndex()) this.cache.compact(compactIndex);
      await this.releaseOld();
      return snapshot;
    });
  }

  walStats(): Readonly<WalStats> {
    return { ...this.wal.stats };
  }

  walSegmentNames(): string[] {
    return this.wal.segmentFiles().map((segment) => segment.name);
  }

  /** Waits for pending saves, then closes the WAL. */
  async close(): Promise<void> {
    await this.chain.catch(() => undefined);
    await this.wal.close();
  }

  private async releaseOld(): Promise<void> {
    const kept = await this.wal.guard(() => this.snapshots.purge(this.options.snapshotsKept));
    const oldest = kept[kept.length - 1];
    if (oldest !== undefined) await this.wal.releaseTo(oldest.index);
  }

  /** Refuses, before anything is written, an update the cache could not take after it is durable. */
  private checkUpdate(snapshot: Snapshot | undefined, entries: readonly Entry[]): void {
    if (snapshot !== undefined) {
      const current = this.cache.snapshot().metadata.index;
      if (snapshot.metadata.index <= current) throw new SnapshotOutOfDateError(snapshot.metadata.index, current);
    }
    for (let i = 1; i < entries.length; i++) {
      assert(entries[i]!.index === entries[i - 1]!.index + 1, () => `entries to save are not contiguous at ${entries[i]!.index}`);
    }
    const first = entries[0];
    const last = snapshot?.metadata.index ?? this.cache.lastIndex();
    if (first !== undefined) assert(first.index <= last + 1, () => `entries to save start at ${first.index}, after a gap (last index ${last})`);
  }

  private serialize<T>(work: () => Promise<T>): Promise<T> {
    const run = this.chain.then(work, work);
    this.chain = run.catch(() => undefined);
    return run;
  }
}

/** Why the replayed WAL cannot continue from a snapshot at `index`, or undefined if it can. */
function coverageProblem(replay: WalReplay, index: number): string | undefined {
  const entries = replay.entries;
  if (entries.length === 0) {
    if (replay.lastIndex !== undefined && replay.lastIndex > index) return `the WAL continues from index ${replay.lastIndex}, after ${index}`;
    return undefined;
  }
  const first = entries[0]!.index;
  const last = entries[entries.length - 1]!.index;
  if (first > index + 1) return `the WAL starts at entry ${first}, leaving a gap after ${index}`;
  if (last < index) return `the WAL ends at entry ${last}, before ${index}`;
  return undefined;
}
