import { requireInteger } from '../base/validate.js';
import type { ByteString } from '../storage/backend/bytes.js';
import { ConclaveError } from '../base/errors.js';
import { WATCH_RANGE_EMPTY_TEXT } from './errors.js';
import { intervalContains, intervalIsEmpty, resolveRange } from './key-range.js';
import type { CommitListener, MvccStore } from './kv-store.js';
import type { MvccEvent } from './types.js';
import type { WatchOptions } from './watch-types.js';
import { filterEvents, intervalKey, Watcher } from './watcher.js';

/** Synced range watchers with one key interval: matched against a commit's keys once for all. */
interface RangeGroup {
  readonly interval: Watcher['interval'];
  readonly watchers: Set<Watcher>;
}

export interface WatchableStoreOptions {
  /** Events a watcher may hold undelivered before it becomes a victim (default 1024). */
  readonly maxBufferedEvents?: number;
  /** Events read from history per catch-up response, never splitting a revision (default 1000). */
  readonly maxEventsPerBatch?: number;
  /** A response above this many (estimated) bytes is fragmented if the watcher allows it (default 2 MiB, etcd's). */
  readonly maxResponseBytes?: number;
  /** Watchers alive at once; `watch` refuses more (default 100,000). */
  readonly maxWatchers?: number;
}

/** A watch whose creation etcd would refuse; `reason` is etcd's cancel_reason text. */
export class WatchCreateError extends ConclaveError {
  constructor(readonly reason: string, code: string) {
    super(code, reason);
    this.name = 'WatchCreateError';
  }
}

/**
 * Watches over an MvccStore, modelled on etcd's watchable store. Each watcher is in one
 * group: synced (gets each commit's events pushed into its bounded buffer as the write
 * happens), unsynced (behind: it reads the history from the backend, a batch per pull,
 * and joins synced once it has caught up) or victim (its buffer was full when a commit
 * came: it gets nothing more pushed and turns unsynced once its consumer has drained the
 * buffer). A write never waits for a consumer: the cost of a slow consumer is that it
 * catches up from history later. A watcher behind the compaction point is cancelled with
 * `compactRevision`. Delivery is pull-based (see Watcher), so backpressure is the
 * consumer's reading pace.
 */
export class WatchableStore implements CommitListener {
  readonly maxBufferedEvents: number;
  readonly maxEventsPerBatch: number;
  readonly maxResponseBytes: number;
  readonly maxWatchers: number;
  private nextId = 1;
  private readonly watchers = new Map<number, Watcher>();
  /** Synced single-key watchers by key, and synced range watchers, for dispatch on commit. */
  private readonly syncedByKey = new Map<ByteString, Set<Watcher>>();
  private readonly syncedRanges = new Map<string, RangeGroup>();
  private readonly detach: () => void;

  constructor(readonly store: MvccStore, options: WatchableStoreOptions = {}) {
    this.maxBufferedEvents = requireInteger('maxBufferedEvents', options.maxBufferedEvents ?? 1024, 1);
    this.maxEventsPerBatch = requireInteger('maxEventsPerBatch', options.maxEventsPerBatch ?? 1000, 1);
    this.maxResponseBytes = requireInteger('maxResponseBytes', options.maxResponseBytes ?? 2 * 1024 * 1024, 1);
    this.maxWatchers = requireInteger('maxWatchers', options.maxWatchers ?? 100_000, 1);
    this.detach = store.addListener(this);
  }

  /**
   * Creates a watcher. Throws WatchCreateError for an empty range (etcd's create failure)
   * and when `maxWatchers` are alive. A start revision below the compaction point gives a
   * watcher whose first response is the compaction cancel.
   */
  watch(options: WatchOptions): Watcher {
    const interval = resolveRange(options.key.length === 0 ? new Uint8Array([0]) : options.key, options.rangeEnd);
    if (intervalIsEmpty(interval)) throw new WatchCreateError(WATCH_RANGE_EMPTY_TEXT, 'ERR_WATCH_RANGE_EMPTY');
    if (this.watchers.size >= this.maxWatchers) throw new WatchCreateError(`too many watchers (limit ${this.maxWatchers})`, 'ERR_WATCH_LIMIT');
    const start = requireInteger('startRevision', options.startRevision ?? 0, 0);
    const watcher = new Watcher(this, this.nextId++, interval, options);
    this.watchers.set(watcher.id, watcher);
    const current = this.store.currentRevision;
    if (start === 0 || start > current) {
      watcher.minRevision = start === 0 ? current + 1 : start;
      this.addSynced(watcher);
    } else if (start < this.store.compactRevision) {
      watcher.cancelCompacted(this.store.compactRevision);
    } else {
      watcher.nextRevision = start;
      watcher.setState('unsynced');
    }
    return watcher;
  }

  get(watcherId: number): Watcher | undefined {
    return this.watchers.get(watcherId);
  }

  /** Group sizes, for metrics and tests. */
  stats(): { synced: number; unsynced: number; victim: number } {
    const counts = { synced: 0, unsynced: 0, victim: 0 };
    for (const w of this.watchers.values()) if (w.state !== 'canceled') counts[w.state] += 1;
    return counts;
  }

  /**
   * The periodic progress tick (the server calls it every progress interval): queues an
   * empty response for each watcher that asked for progress_notify, is synced, and got no
   * events since the previous tick.
   */
  notifyProgress(): void {
    for (const w of this.watchers.values()) if (w.options.progressNotify) w.progressTick();
  }

  /** Ends every watcher and stops listening to the store. */
  close(): void {
    for (const w of [...this.watchers.values()]) w.cancel();
    this.detach();
  }

  /**
   * A commit's events to its synced watchers. Watchers with the same filter key get the same
   * filtered array (filtered once per key per commit, not once per watcher), which also lets
   * the server encode it once however many watchers and streams carry it.
   */
  onCommit(revision: number, events: readonly MvccEvent[]): void {
    // The watchers that see at least one event, as sets sharing one interval each.
    const groups = new Set<Set<Watcher>>();
    for (const event of events) {
      const key = Buffer.from(event.kv.key).toString('latin1');
      const exact = this.syncedByKey.get(key);
      if (exact !== undefined) groups.add(exact);
      for (const group of this.syncedRanges.values()) if (group.watchers.size > 0 && intervalContains(group.interval, key)) groups.add(group.watchers);
    }
    if (groups.size === 0) return;
    const byFilterKey = new Map<string, readonly MvccEvent[]>();
    for (const watchers of groups) {
      // Copied: a delivery can make a watcher a victim, which removes it from this set.
      for (const w of [...watchers]) {
        let filtered = byFilterKey.get(w.filterKey);
        if (filtered === undefined) {
          filtered = filterEvents(events.length === 1 ? events : events.filter((e) => w.matches(Buffer.from(e.kv.key).toString('latin1'))), w.options);
          byFilterKey.set(w.filterKey, filtered);
        }
        w.deliverSynced(revision, filtered);
      }
    }
  }

  /**
   * The store's contents were replaced by a newer snapshot: every synced watcher had received
   * everything up to `previousRevision`, so it turns unsynced from the revision after and
   * catches up from the new history (or is cancelled as compacted if that history is gone).
   */
  onReload(previousRevision: number): void {
    const synced = [...[...this.syncedRanges.values()].flatMap((group) => [...group.watchers]), ...[...this.syncedByKey.values()].flatMap((set) => [...set])];
    for (const w of synced) {
      this.removeSynced(w);
      w.resumeFrom(Math.max(previousRevision + 1, w.minRevision));
    }
  }

  onCompact(): void {
    // Nothing to do eagerly: a watcher behind the new compaction point is cancelled when
    // it next reads history (synced watchers are always ahead of it).
  }

  /** @internal */
  addSynced(w: Watcher): void {
    w.setState('synced');
    if (w.interval.single) {
      let set = this.syncedByKey.get(w.interval.start);
      if (set === undefined) this.syncedByKey.set(w.interval.start, (set = new Set()));
      set.add(w);
    } else {
      const key = intervalKey(w.interval);
      let group = this.syncedRanges.get(key);
      if (group === undefined) this.syncedRanges.set(key, (group = { interval: w.interval, watchers: new Set() }));
      group.watchers.add(w);
    }
  }

  /** @internal */
  removeSynced(w: Watcher): void {
    if (w.interval.single) {
      const set = this.syncedByKey.get(w.interval.start);
      set?.delete(w);
      if (set?.size === 0) this.syncedByKey.delete(w.interval.start);
    } else {
      const key = intervalKey(w.interval);
      const group = this.syncedRanges.get(key);
      group?.watchers.delete(w);
      if (group?.watchers.size === 0) this.syncedRanges.delete(key);
    }
  }

  /** @internal */
  forget(w: Watcher): void {
    this.removeSynced(w);
    this.watchers.delete(w.id);
  }
}
