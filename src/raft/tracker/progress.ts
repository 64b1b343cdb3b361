import { Inflights } from './inflights.js';

/**
 * How the leader replicates to one follower:
 * - probe: the leader does not know where the logs match; it sends one append at a time and
 *   waits for the answer (or a heartbeat response) before sending another.
 * - replicate: the logs match up to `match`; appends are pipelined up to the inflights window.
 * - snapshot: the follower needs entries the leader has compacted; a snapshot is on its way
 *   and nothing else is sent until it is reported done.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/**
 * The leader's view of one follower (or of itself).
 * Invariants: match < next; in snapshot state, pendingSnapshot > 0.
 */
export class Progress {
  /** Highest index known to be in the follower's log. */
  match: number;
  /** Index of the next entry to send. */
  next: number;
  state: ProgressState = 'probe';
  /** In snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Whether the follower was heard from since the last check-quorum round. */
  recentActive: boolean;
  /**
   * In probe state: an append was sent and no answer came yet. In replicate state: the
   * inflights window is full. Either way, no more appends until this is cleared.
   */
  msgAppFlowPaused = false;
  readonly inflights: Inflights;
  isLearner: boolean;

  constructor(options: { next: number; match?: number; inflightsCapacity: number; inflightsMaxBytes: number; isLearner: boolean; recentActive: boolean }) {
    this.next = options.next;
    this.match = options.match ?? 0;
    this.inflights = new Inflights(options.inflightsCapacity, options.inflightsMaxBytes);
    this.isLearner = options.isLearner;
    this.recentActive = options.recentActive;
  }

  /** An independent copy (membership changes are computed copy-on-write). */
  clone(): Progress {
    const copy = new Progress({
      next: this.next,
      match: this.match,
      inflightsCapacity: this.inflights.capacity,
      inflightsMaxBytes: this.inflights.maxBytes,
      isLearner: this.isLearner,
      recentActive: this.recentActive,
    });
    copy.state = this.state;
    copy.pendingSnapshot = this.pendingSnapshot;
    copy.msgAppFlowPaused = this.msgAppFlowPaused;
    this.inflights.copyInto(copy.inflights);
    return copy;
  }

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // After a snapshot, the follower has at least the snapshot's entries (if it applied it).
    if (this.state === 'snapshot') {
      const pendingSnapshot = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, pendingSnapshot + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
    this.next = snapshotIndex + 1;
  }

  /** Accounts for an append of `entries` entries and `bytes` payload bytes just sent. */
  sentEntries(entries: number, bytes: number): void {
    if (this.state === 'replicate') {
      if (entries > 0) {
        this.next += entries;
        this.inflights.add(this.next - 1, bytes);
      }
      this.msgAppFlowPaused = this.inflights.full();
    } else if (this.state === 'probe' && entries > 0) {
      this.msgAppFlowPaused = true;
    }
  }

  /** Raises match to `index` if that is news; returns whether it was. */
  maybeUpdate(index: number): boolean {
    if (index <= this.match) return false;
    this.match = index;
    this.next = Math.max(this.next, index + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /**
   * Handles a rejected append at `rejected`, with the follower's hint that the logs may match
   * at `matchHint`. Returns false when the rejection is stale (it answers an older append).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      // Only an append above match can be rejected for real; an older one is stale.
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    // In probe state only the answer to the append we sent (at next-1) counts.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  isPaused(): boolean {
    return this.state === 'snapshot' || this.msgAppFlowPaused;
  }

  describe(): string {
    let text = `${this.state} match=${this.match} next=${this.next}`;
    if (this.isLearner) text += ' learner';
    if (this.msgAppFlowPaused) text += ' paused';
    if (this.pendingSnapshot > 0) text += ` pendingSnap=${this.pendingSnapshot}`;
    if (!this.recentActive) text += ' inactive';
    if (this.inflights.length > 0) text += ` inflight=${this.inflights.length}`;
    if (this.inflights.full()) text += '[full]';
    return text;
  }
}
