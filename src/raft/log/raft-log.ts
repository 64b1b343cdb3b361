import { assert } from '../../base/assert.js';
import { LogCompactedError, LogUnavailableError } from '../errors.js';
import type { Storage } from '../storage.js';
import { limitEntriesBytes } from '../storage.js';
import type { Entry, Snapshot } from '../types.js';
import { entryPayloadBytes } from '../types.js';
import { Unstable } from './unstable.js';

/**
 * A node's view of its log: what the caller has persisted (Storage) followed by what it has
 * not yet (Unstable), plus three cursors.
 *
 * Invariants: applied <= applying <= committed <= lastIndex(); firstIndex()-1 <= applied.
 * `applying` is how far committed entries were handed out in Ready; `applied` how far the
 * caller confirmed applying them (advance()).
 */
export class RaftLog {
  readonly unstable: Unstable;
  committed: number;
  applying: number;
  applied: number;

  constructor(
    readonly storage: Storage,
    /** Most payload bytes of committed entries handed out in one Ready (at least one entry). */
    private readonly maxCommittedBytesPerReady: number,
  ) {
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    this.committed = first - 1;
    this.applying = first - 1;
    this.applied = first - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /**
   * The term of the entry at `index`: undefined when it was compacted away, 0 when it is
   * beyond the last index (no entry has term 0, so comparisons with it simply fail).
   */
  term(index: number): number | undefined {
    const dummyIndex = this.firstIndex() - 1;
    if (index < dummyIndex) return undefined;
    if (index > this.lastIndex()) return 0;
    const unstableTerm = this.unstable.maybeTerm(index);
    if (unstableTerm !== undefined) return unstableTerm;
    try {
      return this.storage.term(index);
    } catch (error) {
      if (error instanceof LogCompactedError) return undefined;
      if (error instanceof LogUnavailableError) return 0;
      throw error;
    }
  }

  lastTerm(): number {
    const term = this.term(this.lastIndex());
    assert(term !== undefined, 'the last entry of the log cannot be compacted');
    return term;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /**
   * Raft's log-up-to-date check (section 5.4.1): a log whose last entry has a higher term, or
   * the same term and at least our length, is at least as up to date as ours.
   */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * The follower side of AppendEntries: if our entry at `index` has term `logTerm`, appends
   * `entries` (truncating a conflicting suffix), advances commit to min(`commit`, last new
   * index) and returns the last new index; otherwise returns undefined.
   */
  maybeAppend(index: number, logTerm: number, commit: number, entries: readonly Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNewIndex = index + entries.length;
    const conflictIndex = this.findConflict(entries);
    if (conflictIndex !== 0) {
      assert(conflictIndex > this.committed, () => `entry ${conflictIndex} conflicts with committed entry (committed ${this.committed})`);
      this.append(entries.slice(conflictIndex - (index + 1)));
    }
    this.commitTo(Math.min(commit, lastNewIndex));
    return lastNewIndex;
  }

  /** Appends entries after (or truncating) the log; never below committed. Returns lastIndex(). */
  append(entries: readonly Entry[]): number {
    if (entries.length === 0) return this.lastIndex();
    const after = entries[0]!.index - 1;
    assert(after >= this.committed, () => `appending after ${after} would overwrite committed entries (committed ${this.committed})`);
    this.unstable.truncateAndAppend(entries);
    return this.lastIndex();
  }

  /** The index of the first entry of `entries` whose term differs from ours, or 0. */
  findConflict(entries: readonly Entry[]): number {
    for (const entry of entries) {
      if (!this.matchTerm(entry.index, entry.term)) return entry.index;
    }
    return 0;
  }

  /**
   * The largest index at most `index` whose term is at most `term`, with that term: where the
   * leader's and our logs may match. Used to skip a whole term per rejection (fast back-off).
   * Returns [index, 0] when the term is unknown (compacted) at that point.
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    for (let i = index; i > 0; i--) {
      const ourTerm = this.term(i);
      if (ourTerm === undefined) return [i, 0];
      if (ourTerm <= term) return [i, ourTerm];
    }
    return [0, 0];
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    assert(index <= this.lastIndex(), () => `commit ${index} is beyond the last index ${this.lastIndex()}`);
    this.committed = index;
  }

  /**
   * Commits up to `maxIndex` if the entry there is of `term` (the current term). Raft never
   * commits an entry of an earlier term by counting replicas (section 5.4.2); such entries
   * are committed indirectly, with the first current-term entry after them.
   */
  maybeCommit(maxIndex: number, term: number, ignoreTermCheck = false): boolean {
    if (maxIndex > this.committed && (ignoreTermCheck || this.term(maxIndex) === term)) {
      this.commitTo(Math.min(maxIndex, this.lastIndex()));
      return true;
    }
    return false;
  }

  appliedTo(index: number): void {
    if (index === 0) return;
    assert(index >= this.applied && index <= this.committed, () => `applied ${index} out of range [${this.applied}, ${this.committed}]`);
    this.applied = index;
    this.applying = Math.max(this.applying, index);
  }

  acceptApplying(index: number): void {
    assert(index <= this.committed, () => `applying ${index} beyond committed ${this.committed}`);
    this.applying = index;
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }

  /** After a snapshot was persisted and applied by the caller. */
  appliedSnapshot(snapshot: Snapshot): void {
    const index = snapshot.metadata.index;
    this.stableSnapTo(index);
    this.applied = Math.max(this.applied, index);
    this.applying = Math.max(this.applying, index);
  }

  hasNextCommittedEntries(): boolean {
    if (this.unstable.snapshot !== undefined) return false;
    return this.committed > this.applying;
  }

  /** Committed entries not yet handed out, limited by maxCommittedBytesPerReady. */
  nextCommittedEntries(): Entry[] {
    if (!this.hasNextCommittedEntries()) return [];
    return this.slice(this.applying + 1, this.committed + 1, this.maxCommittedBytesPerReady);
  }

  unstableEntries(): Entry[] {
    return this.unstable.entries;
  }

  hasUnstableSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  /** The latest snapshot: an unstable one being installed, or the caller's. */
  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** Entries from `index` on, limited by `maxBytes` (at least one). Throws LogCompactedError. */
  entriesFrom(index: number, maxBytes: number): Entry[] {
    if (index > this.lastIndex()) return [];
    return this.slice(index, this.lastIndex() + 1, maxBytes);
  }

  /** Entries in [lo, hi), limited by `maxBytes` (at least one). Throws LogCompactedError below firstIndex(). */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    assert(lo <= hi, () => `invalid slice ${lo} > ${hi}`);
    const first = this.firstIndex();
    if (lo < first) throw new LogCompactedError(lo, first);
    assert(hi <= this.lastIndex() + 1, () => `slice[${lo},${hi}) out of bound [${first},${this.lastIndex()}]`);
    if (lo === hi) return [];
    let entries: Entry[] = [];
    const unstableOffset = this.unstable.offset;
    if (lo < unstableOffset) {
      entries = this.storage.entries(lo, Math.min(hi, unstableOffset), maxBytes);
      // Storage returned fewer than asked: the byte limit is reached.
      if (entries.length < Math.min(hi, unstableOffset) - lo) return entries;
    }
    if (hi > unstableOffset) {
      const fromUnstable = this.unstable.slice(Math.max(lo, unstableOffset), hi);
      entries = entries.length > 0 ? entries.concat(fromUnstable) : fromUnstable;
    }
    return limitEntriesBytes(entries, maxBytes);
  }

  /** Installs a snapshot: the log becomes the snapshot, committed jumps to its index. */
  restore(snapshot: Snapshot): void {
    this.committed = snapshot.metadata.index;
    this.unstable.restore(snapshot);
  }

  /** Total payload bytes of `entries`. */
  static payloadBytes(entries: readonly Entry[]): number {
    let bytes = 0;
    for (const entry of entries) bytes += entryPayloadBytes(entry);
    return bytes;
  }
}
