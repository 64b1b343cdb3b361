import { assert } from '../base/assert.js';
import { LogCompactedError, LogUnavailableError, SnapshotOutOfDateError } from './errors.js';
import type { ConfState, Entry, HardState, Snapshot } from './types.js';
import { EMPTY_CONF_STATE, EMPTY_HARD_STATE, entryPayloadBytes } from './types.js';

/**
 * The log storage Raft reads from. It is owned and written by the caller: the caller appends
 * the entries of each Ready, records its hard state and installs snapshots; Raft only reads.
 * All calls are synchronous. Any other error thrown makes the node inoperable.
 *
 * The stored log is conceptually `[snapshot] + entries[firstIndex() .. lastIndex()]`; the entry
 * at firstIndex()-1 survives only as the snapshot's (index, term), so term(firstIndex()-1) works.
 */
export interface Storage {
  /** The saved hard state and membership (used once, when a node starts). */
  initialState(): { hardState: HardState; confState: ConfState };
  /**
   * Entries with indexes in [lo, hi). Returns at least one entry when lo < hi, and then as many
   * more as fit in `maxBytes` of payload. Throws LogCompactedError if lo < firstIndex() and
   * LogUnavailableError if hi > lastIndex() + 1. The caller must not mutate the result.
   */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** Term of the entry at `index`, for index in [firstIndex()-1, lastIndex()]; throws as entries() does. */
  term(index: number): number;
  /** Index of the last entry (the snapshot's index when the log is empty). */
  lastIndex(): number;
  /** Index of the first entry still available (snapshot index + 1). */
  firstIndex(): number;
  /** The most recent snapshot. May throw SnapshotTemporarilyUnavailableError. */
  snapshot(): Snapshot;
}

/** Takes as many entries from the front of `entries` as fit in `maxBytes`, but always at least one. */
export function limitEntriesBytes(entries: Entry[], maxBytes: number): Entry[] {
  if (entries.length === 0) return entries;
  let bytes = entryPayloadBytes(entries[0]!);
  let count = 1;
  while (count < entries.length) {
    bytes += entryPayloadBytes(entries[count]!);
    if (bytes > maxBytes) break;
    count += 1;
  }
  return count === entries.length ? entries : entries.slice(0, count);
}

/**
 * A Storage held in memory: the reference implementation, used by tests, the simulator, and
 * by the server as the cache in front of its WAL. Besides the Storage reads it offers the
 * writes the caller performs: setHardState, append, applySnapshot, createSnapshot, compact.
 *
 * Invariant: `log[0]` is a dummy entry carrying the snapshot's (index, term), so
 * firstIndex() = log[0].index + 1 and lastIndex() = log[0].index + log.length - 1.
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = EMPTY_HARD_STATE;
  private currentSnapshot: Snapshot;
  private log: Entry[];

  constructor(snapshot?: Snapshot) {
    this.currentSnapshot = snapshot ?? {
      metadata: { index: 0, term: 0, confState: EMPTY_CONF_STATE },
      data: new Uint8Array(0),
    };
    this.log = [dummyEntry(this.currentSnapshot.metadata.index, this.currentSnapshot.metadata.term)];
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.currentSnapshot.metadata.confState };
  }

  setHardState(state: HardState): void {
    this.hardState = state;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const offset = this.log[0]!.index;
    if (lo <= offset) throw new LogCompactedError(lo, offset + 1);
    if (hi > this.lastIndex() + 1) throw new LogUnavailableError(hi - 1, this.lastIndex());
    return limitEntriesBytes(this.log.slice(lo - offset, hi - offset), maxBytes);
  }

  term(index: number): number {
    const offset = this.log[0]!.index;
    if (index < offset) throw new LogCompactedError(index, offset + 1);
    if (index - offset >= this.log.length) throw new LogUnavailableError(index, this.lastIndex());
    return this.log[index - offset]!.term;
  }

  lastIndex(): number {
    return this.log[0]!.index + this.log.length - 1;
  }

  firstIndex(): number {
    return this.log[0]!.index + 1;
  }

  snapshot(): Snapshot {
    return this.currentSnapshot;
  }

  /** Replaces the whole state with `snapshot` (a follower catching up). */
  applySnapshot(snapshot: Snapshot): void {
    const current = this.currentSnapshot.metadata.index;
    if (snapshot.metadata.index <= current && current !== 0) {
      throw new SnapshotOutOfDateError(snapshot.metadata.index, current);
    }
    this.currentSnapshot = snapshot;
    this.log = [dummyEntry(snapshot.metadata.index, snapshot.metadata.term)];
  }

  /**
   * Records a snapshot the application made at `index` (which must be applied, so at most
   * lastIndex()). Does not compact; call compact() to release entries.
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    const current = this.currentSnapshot.metadata.index;
    if (index <= current) throw new SnapshotOutOfDateError(index, current);
    if (index > this.lastIndex()) throw new LogUnavailableError(index, this.lastIndex());
    this.currentSnapshot = { metadata: { index, term: this.term(index), confState }, data };
    return this.currentSnapshot;
  }

  /** Discards entries before `compactIndex` (which becomes the dummy entry). */
  compact(compactIndex: number): void {
    const offset = this.log[0]!.index;
    if (compactIndex <= offset) throw new LogCompactedError(compactIndex, offset + 1);
    if (compactIndex > this.lastIndex()) throw new LogUnavailableError(compactIndex, this.lastIndex());
    const keep = this.log.slice(compactIndex - offset);
    keep[0] = dummyEntry(compactIndex, keep[0]!.term);
    this.log = keep;
  }

  /**
   * Appends entries, truncating any existing suffix they conflict with. Entries already
   * compacted are ignored. The entries must be contiguous and start at most at lastIndex()+1.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0]!.index + entries.length - 1;
    if (last < first) return;
    const toAppend = first > entries[0]!.index ? entries.slice(first - entries[0]!.index) : entries;
    const offset = toAppend[0]!.index - this.log[0]!.index;
    assert(offset <= this.log.length, () => `missing log entry: last index ${this.lastIndex()}, appending at ${toAppend[0]!.index}`);
    this.log.length = offset;
    for (const entry of toAppend) this.log.push(entry);
  }
}

function dummyEntry(index: number, term: number): Entry {
  return { index, term, type: 'normal', data: new Uint8Array(0) };
}
