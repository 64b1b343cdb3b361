import type { Entry, HardState } from '../raft/types.js';
import { EMPTY_HARD_STATE } from '../raft/types.js';
import type { SnapshotMarker } from './wal-payloads.js';

/**
 * What replaying the WAL's records yields: the last hard state, the log (with the overwrites
 * Raft made when a follower's conflicting suffix was replaced), and the snapshot markers seen.
 * The log is contiguous; `gap` returns a description when an entry would leave a hole.
 */
export class WalReplay {
  hardState: HardState = EMPTY_HARD_STATE;
  readonly entries: Entry[] = [];
  readonly markers: SnapshotMarker[] = [];
  /** Index of the last entry (or of the snapshot that replaced the log); undefined before any. */
  lastIndex: number | undefined;

  /** Adds an entry; returns a problem string if it would leave a gap in the log. */
  addEntry(entry: Entry): string | undefined {
    if (this.lastIndex !== undefined && entry.index > this.lastIndex + 1) {
      return `entry ${entry.index} leaves a gap after ${this.lastIndex}`;
    }
    // An entry at or below the last index overwrites that suffix (a follower's log repair).
    const first = this.entries[0]?.index;
    if (first !== undefined && entry.index <= this.entries[this.entries.length - 1]!.index) {
      this.entries.length = Math.max(0, entry.index - first);
    }
    this.entries.push(entry);
    this.lastIndex = entry.index;
    return undefined;
  }

  addMarker(marker: SnapshotMarker): void {
    if (!this.markers.some((m) => m.index === marker.index && m.term === marker.term)) this.markers.push(marker);
    if (marker.replacesLog) {
      this.entries.length = 0;
      this.lastIndex = marker.index;
    }
  }

  hasMarker(index: number, term: number): boolean {
    return this.markers.some((m) => m.index === index && m.term === term);
  }
}
