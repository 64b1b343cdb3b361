import type { Clock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';

/** What auto-promotion needs of the member (declared by the consumer). */
export interface AutoPromoteTarget {
  isLeader(): boolean;
  /** Ids of the members that are learners now. */
  learnerIds(): readonly bigint[];
  raftProgress(): ReadonlyMap<bigint, { match: number; recentActive: boolean }> | undefined;
  raftLastIndex(): number;
  /** MemberPromote as an operator would call it (etcd's readiness and strict reconfiguration checks apply). */
  promote(id: bigint): Promise<void>;
}

export interface AutoPromoteOptions {
  /** How often the leader looks at its learners. */
  readonly checkIntervalMs: number;
  /** A learner must stay caught up this long before it is promoted. */
  readonly caughtUpForMs: number;
  /** Caught up: its log ends at most this many entries behind the leader's. */
  readonly maxLagEntries: number;
}

/**
 * The member's timing: look every election timeout; promote after three election timeouts
 * caught up within 1,000 entries (well inside etcd's own readiness rule once the log is long).
 */
export function autoPromoteTiming(electionTimeoutMs: number): AutoPromoteOptions {
  return { checkIntervalMs: electionTimeoutMs, caughtUpForMs: 3 * electionTimeoutMs, maxLagEntries: 1000 };
}

/**
 * Learner auto-promotion (`--auto-promote-learners`, on by default): the leader promotes a
 * learner once its log has stayed within `maxLagEntries` of the leader's, and the leader has
 * heard from it, for `caughtUpForMs`. The promotion is an ordinary MemberPromote through raft,
 * so etcd's checks hold: only the leader's view of the learner's log counts, and the strict
 * reconfiguration check refuses a promotion that would leave the new voter set without a
 * quorum of started members. A refused or failed promotion restarts the wait.
 */
export class AutoPromoter {
  private cancel: (() => void) | undefined;
  private readonly caughtUpSinceMs = new Map<bigint, number>();
  private inFlight = false;
  private stopped = false;

  constructor(
    private readonly target: AutoPromoteTarget,
    private readonly clock: Clock,
    private readonly options: AutoPromoteOptions,
    private readonly logger: Logger,
  ) {}

  start(): void {
    const tick = (): void => {
      if (this.stopped) return;
      this.check();
      this.cancel = this.clock.setTimer(this.options.checkIntervalMs, tick);
    };
    this.cancel = this.clock.setTimer(this.options.checkIntervalMs, tick);
  }

  stop(): void {
    this.stopped = true;
    this.cancel?.();
  }

  /** One look at the learners (exposed for tests on a fake clock). */
  check(): void {
    const progress = this.target.isLeader() ? this.target.raftProgress() : undefined;
    if (progress === undefined) {
      this.caughtUpSinceMs.clear(); // a new leader starts its own count
      return;
    }
    const now = this.clock.nowMs();
    const leaderLast = this.target.raftLastIndex();
    const learners = new Set(this.target.learnerIds());
    for (const id of [...this.caughtUpSinceMs.keys()]) if (!learners.has(id)) this.caughtUpSinceMs.delete(id);
    for (const id of learners) {
      const p = progress.get(id);
      if (p === undefined || !p.recentActive || leaderLast - p.match > this.options.maxLagEntries) {
        this.caughtUpSinceMs.delete(id);
        continue;
      }
      const since = this.caughtUpSinceMs.get(id) ?? now;
      this.caughtUpSinceMs.set(id, since);
      if (now - since < this.options.caughtUpForMs || this.inFlight) continue;
      this.inFlight = true;
      this.logger.info('promoting a caught-up learner', { id: id.toString(16), match: p.match, leaderLastIndex: leaderLast });
      this.target.promote(id).then(
        () => this.logger.info('learner promoted to voter', { id: id.toString(16) }),
        (error: unknown) => {
          this.caughtUpSinceMs.delete(id);
          this.logger.info('learner promotion refused; will retry once it is caught up again', { id: id.toString(16), error: (error as Error).message });
        },
      ).finally(() => {
        this.inFlight = false;
      });
    }
  }
}
