import type { Clock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';

/** What stopping a removed member needs (declared by the consumer). */
export interface RemovalTarget {
  readonly memberId: bigint;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly electionTimeoutMs: number;
  isLeader(): boolean;
  isStopped(): boolean;
  close(): Promise<void>;
}

/**
 * A member that applied its own removal, or that a peer refused as removed, stops. A removed
 * leader first hands leadership to a remaining voter (raft does it while it keeps leading):
 * it gets up to ten election timeouts for that, then stops regardless.
 */
export class RemovalWatcher {
  private noticed = false;

  constructor(private readonly target: RemovalTarget) {}

  onRemoved(): void {
    if (this.noticed) return;
    this.noticed = true;
    const { clock, logger, electionTimeoutMs } = this.target;
    logger.warn('this member was removed from the cluster; stopping once it no longer leads', { id: this.target.memberId.toString(16) });
    const deadline = clock.nowMs() + 10 * electionTimeoutMs;
    const check = (): void => {
      if (this.target.isStopped()) return;
      if (this.target.isLeader() && clock.nowMs() < deadline) {
        clock.setTimer(electionTimeoutMs, check);
        return;
      }
      void this.target.close();
    };
    clock.setTimer(2 * electionTimeoutMs, check);
  }
}
