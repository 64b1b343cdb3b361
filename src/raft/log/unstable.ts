import { assert } from '../../base/assert.js';
import type { Entry, Snapshot } from '../types.js';

/**
 * Entries and a snapshot that Raft has accepted but the caller has not yet persisted. They
 * are handed out in Ready and dropped here once advance() reports them stable.
 *
 * Invariants: entries[i].index === offset + i; if snapshot is set, offset === snapshot index + 1
 * or later entries follow it directly.
 */
export class Unstable {
  snapshot: Snapshot | undefined;
  entries: Entry[] = [];
  offset: number;

  constructor(offset: number) {
    this.offset = offset;
  }

  /** The first index, if the unstable part starts the log (it holds a snapshot). */
  maybeFirstIndex(): number | undefined {
    return this.snapshot === undefined ? undefined : this.snapshot.metadata.index + 1;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot?.metadata.index;
  }

  maybeTerm(index: number): number | undefined {
    if (index < this.offset) {
      if (this.snapshot !== undefined && this.snapshot.metadata.index === index) return this.snapshot.metadata.term;
      return undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || index > last) return undefined;
    return this.entries[index - this.offset]!.term;
  }

  /**
   * Entries up to `index` (with term `term`) are now on stable storage. The term check
   * protects against entries that were replaced between ready() and advance().
   */
  stableTo(index: number, term: number): void {
    const current = this.maybeTerm(index);
    if (current === undefined || current !== term || index < this.offset) return;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
  }

  stableSnapTo(index: number): void {
    if (this.snapshot !== undefined && this.snapshot.metadata.index === index) this.snapshot = undefined;
  }

  restore(snapshot: Snapshot): void {
    this.offset = snapshot.metadata.index + 1;
    this.entries = [];
    this.snapshot = snapshot;
  }

  truncateAndAppend(entries: readonly Entry[]): void {
    const from = entries[0]!.index;
    if (from === this.offset + this.entries.length) {
      for (const entry of entries) this.entries.push(entry);
    } else if (from <= this.offset) {
      // Replaces everything unstable (and, for the caller, what storage has from `from` on).
      this.offset = from;
      this.entries = [...entries];
    } else {
      this.entries = this.entries.slice(0, from - this.offset).concat(entries);
    }
  }

  slice(lo: number, hi: number): Entry[] {
    assert(lo >= this.offset && hi <= this.offset + this.entries.length && lo <= hi, () => `unstable.slice[${lo},${hi}) out of bounds [${this.offset},${this.offset + this.entries.length})`);
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
