/**
 * Learner auto-promotion inside the seeded simulation: the production AutoPromoter (on a fake
 * clock advanced one millisecond per tick) watching whichever node leads, promoting through
 * the production MembershipChanges rules (etcd's readiness ratio and strict reconfiguration
 * check) built over that leader's raft view. Every promotion it proposes is checked on its
 * own: the learner was caught up (within the lag bound, heard from recently) and the new voter
 * set keeps a quorum of active members.
 */
import { FakeClock } from '../../src/base/clock.js';
import { silentLogger } from '../../src/base/logger.js';
import type { RawNode } from '../../src/raft/index.js';
import { AutoPromoter } from '../../src/server/auto-promoter.js';
import type { AutoPromoteOptions } from '../../src/server/auto-promoter.js';
import { ClusterState } from '../../src/server/cluster-state.js';
import { MembershipChanges } from '../../src/server/membership.js';

export const SIM_AUTO_PROMOTE: AutoPromoteOptions = { checkIntervalMs: 2, caughtUpForMs: 10, maxLagEntries: 20 };

export interface AutoPromotionHooks {
  /** The node that leads now (highest term), if any. */
  leader(): RawNode | undefined;
  fail(property: string, detail: string): void;
  proposed(line: string): void;
}

export class SimAutoPromotion {
  readonly clock = new FakeClock();
  private readonly promoter: AutoPromoter;
  promotions = 0;

  constructor(private readonly hooks: AutoPromotionHooks) {
    this.promoter = new AutoPromoter({
      isLeader: () => hooks.leader() !== undefined,
      learnerIds: () => hooks.leader()?.raft.tracker.confState().learners ?? [],
      raftProgress: () => hooks.leader()?.status().progress,
      raftLastIndex: () => hooks.leader()?.raft.raftLog.lastIndex() ?? 0,
      promote: (id) => this.promote(id),
    }, this.clock, SIM_AUTO_PROMOTE, silentLogger);
  }

  /** One simulated tick. */
  tick(): void {
    this.clock.advance(1);
    this.promoter.check();
  }

  private async promote(id: bigint): Promise<void> {
    const leader = this.hooks.leader();
    if (leader === undefined) throw new Error('no leader');
    const cs = leader.raft.tracker.confState();
    // A change already in progress (joint configuration) is the application's to finish first.
    if (cs.votersOutgoing.length > 0) throw new Error('joint configuration in progress');
    const cluster = new ClusterState(1n);
    for (const v of cs.voters) cluster.members.set(v, { id: v, name: `n${v}`, peerUrls: [], clientUrls: [], isLearner: false });
    for (const l of cs.learners) cluster.members.set(l, { id: l, name: `n${l}`, peerUrls: [], clientUrls: [], isLearner: true });
    const progress = leader.status().progress!;
    const changes = new MembershipChanges({
      cluster,
      memberId: leader.raft.id,
      // heartbeatIntervalMs, requestTimeoutMs and confChangeReady serve MemberAdd only.
      options: { initialClusterToken: 'sim', clock: this.clock, heartbeatIntervalMs: 1 },
      requestTimeoutMs: 1000,
      isLeader: () => true,
      confChangeReady: () => {
        throw new Error('not used by promote');
      },
      raftProgress: () => progress,
      raftLastIndex: () => leader.raft.raftLog.lastIndex(),
      nextRequestId: () => 1n,
      proposeConfChange: (_requestId, change) => {
        this.check(leader, id, cs.voters, progress);
        leader.proposeConfChange(change);
        this.promotions += 1;
        this.hooks.proposed(`auto-promotion of learner ${id} proposed by leader ${leader.raft.id}`);
        return Promise.resolve();
      },
      propose: () => Promise.reject(new Error('not used by promote')),
    });
    await changes.promote(id);
  }

  /** The checker's view of a promotion at the moment it is proposed. */
  private check(leader: RawNode, id: bigint, voters: readonly bigint[], progress: ReadonlyMap<bigint, { match: number; recentActive: boolean }>): void {
    const learner = progress.get(id);
    const lag = leader.raft.raftLog.lastIndex() - (learner?.match ?? 0);
    if (learner === undefined || !learner.recentActive || lag > SIM_AUTO_PROMOTE.maxLagEntries) {
      this.hooks.fail('Promotion Only After Catch-Up', `learner ${id} promoted ${lag} entries behind (active: ${learner?.recentActive})`);
    }
    const active = voters.filter((v) => v === leader.raft.id || progress.get(v)?.recentActive === true).length + 1;
    const quorum = Math.floor((voters.length + 1) / 2) + 1;
    if (active < quorum) this.hooks.fail('Promotion Keeps Quorum', `promoting ${id}: ${active} active of ${voters.length + 1} voters, quorum ${quorum}`);
  }
}
