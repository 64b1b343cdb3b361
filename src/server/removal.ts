import type { Clock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';

/** What the removal handling needs from the member (declared by the consumer). */
export interface RemovalTarget {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly electionTimeoutMs: number;
  readonly memberId: bigint;
  isLeader(): boolean;
  isStopped(): boolean;
  /** Sends every peer an empty batch, so that one that refuses us as removed says so. */
  probePeers(): void;
  stop(): void;
}

/**
 * How a removed member ends. Applying its own removal does not stop it: the remaining voters
 * may not know yet that the removal committed, and one of them may need this member's vote
 * answer (which carries the commit index) to learn it, or it waits forever under the old
 * configuration (simulator seeds 141030, 149962, 156146, 196021). So the member keeps running
 * and probes its peers once per election timeout; it stops when a peer refuses it as removed,
 * which a peer does only once it applied the removal itself. A removed leader first hands
 * leadership to a remaining voter: it stops once it no longer leads, or after ten election
 * timeouts regardless.
 */
export class RemovalHandling {
  private applied = false;
  private refused = false;

  constructor(private readonly target: RemovalTarget) {}

  /** The applier applied a configuration that removed this member. */
  appliedOwnRemoval(): void {
    if (this.applied) return;
    this.applied = true;
    this.target.logger.warn('this member was removed from the cluster; it keeps answering until a peer refuses it', { id: this.target.memberId.toString(16) });
    const probe = (): void => {
      if (this.target.isStopped() || this.refused) return;
      this.target.probePeers();
      this.target.clock.setTimer(this.target.electionTimeoutMs, probe);
    };
    this.target.clock.setTimer(this.target.electionTimeoutMs, probe);
  }

  /** A peer refused our messages because it applied our removal. */
  refusedAsRemoved(): void {
    if (this.refused) return;
    this.refused = true;
    this.target.logger.warn('a peer refused this member as removed from the cluster; stopping once it no longer leads', { id: this.target.memberId.toString(16) });
    const deadline = this.target.clock.nowMs() + 10 * this.target.electionTimeoutMs;
    const check = (): void => {
      if (this.target.isStopped()) return;
      if (this.target.isLeader() && this.target.clock.nowMs() < deadline) {
        this.target.clock.setTimer(this.target.electionTimeoutMs, check);
        return;
      }
      this.target.stop();
    };
    // A refusal arrives once the peer applied the removal; leave a moment for the ack of the
    // removal itself to reach the caller through this member.
    this.target.clock.setTimer(this.target.electionTimeoutMs, check);
  }
}
