import type { Clock } from '../base/clock.js';

/** What periodic compaction needs from the member (declared by the consumer). */
export interface CompactionTarget {
  isLeader(): boolean;
  currentRevision(): number;
  compact(revision: number): Promise<void>;
}

/**
 * etcd's periodic auto-compaction (`--auto-compaction-retention=H`): the leader samples the
 * current revision every retention/10, and each time compacts to the revision it sampled one
 * retention ago, so roughly the last H hours of history stay readable. Sampling happens on
 * every member (leadership may move); only the leader compacts. Samples are bounded to 11.
 */
export class AutoCompactor {
  private readonly samples: Array<{ atMs: number; revision: number }> = [];
  private cancel: (() => void) | undefined;
  private readonly intervalMs: number;
  private lastCompacted = 0;

  constructor(
    private readonly target: CompactionTarget,
    private readonly clock: Clock,
    private readonly retentionMs: number,
  ) {
    this.intervalMs = Math.max(1, Math.floor(retentionMs / 10));
  }

  start(): void {
    this.sample();
  }

  stop(): void {
    this.cancel?.();
  }

  private sample(): void {
    const now = this.clock.nowMs();
    this.samples.push({ atMs: now, revision: this.target.currentRevision() });
    while (this.samples.length > 11) this.samples.shift();
    const due = [...this.samples].reverse().find((s) => now - s.atMs >= this.retentionMs);
    if (due !== undefined && due.revision > this.lastCompacted && this.target.isLeader()) {
      this.lastCompacted = due.revision;
      void this.target.compact(due.revision).catch(() => {
        // A compaction can fail harmlessly (already compacted, leadership lost); the next round retries.
        this.lastCompacted = 0;
      });
    }
    this.cancel = this.clock.setTimer(this.intervalMs, () => this.sample());
  }
}
