import { create, toBinary } from '@bufbuild/protobuf';
import { linkSignals, sleep } from '../base/abort.js';
import type { Clock } from '../base/clock.js';
import type { ConfChangeSingle } from '../raft/index.js';
import { ProposalDroppedError } from '../raft/index.js';
import { RaftRequestSchema } from '../gen/conclave/internal_pb.js';
import type { MemberInfo, ProposalRequest } from './api/ports.js';
import type { CallIdentity } from './auth/caller.js';
import { memberToPb } from './cluster-state.js';
import type { ClusterState } from './cluster-state.js';
import { serverError } from './errors.js';
import { computeMemberId } from './ids.js';
import type { ConfChange } from '../raft/index.js';

/** At most this many learners at once (etcd's default --max-learners). */
export const MAX_LEARNERS = 1;
/** A learner is promoted only once its log reaches this share of the leader's (etcd's readyPercent). */
export const PROMOTE_READY_RATIO = 0.9;

/** What membership changes need from the member (declared by the consumer). */
export interface MembershipTarget {
  readonly cluster: ClusterState;
  readonly memberId: bigint;
  readonly options: { readonly initialClusterToken: string; readonly clock: Clock; readonly heartbeatIntervalMs: number };
  /** How long a request may wait for its change to apply (etcd's request timeout). */
  readonly requestTimeoutMs: number;
  isLeader(): boolean;
  /**
   * Whether this member leads and a membership change proposed now is checked against a
   * complete cluster state and accepted by raft: every committed entry is applied here, no
   * earlier change is pending, and an entry of the leader's term is committed.
   */
  confChangeReady(): boolean;
  raftProgress(): ReadonlyMap<bigint, { match: number; recentActive: boolean; isLearner: boolean }> | undefined;
  raftLastIndex(): number;
  nextRequestId(): bigint;
  /** `retryDropped: false`: a change raft refuses now rejects with its ProposalDroppedError instead of being proposed again later. */
  proposeConfChange(requestId: bigint, change: ConfChange, signal?: AbortSignal, options?: { readonly retryDropped?: boolean }): Promise<unknown>;
  propose(request: ProposalRequest, signal?: AbortSignal, caller?: CallIdentity): Promise<unknown>;
}

/**
 * MemberAdd/Remove/Update/Promote: validated as etcd validates them (strict reconfiguration
 * check on: never leave the cluster without a quorum of started voters; promote only a learner
 * in sync with the leader), then proposed as raft membership changes whose context carries the
 * member's attributes and the id the caller waits on.
 */
export class MembershipChanges {
  constructor(private readonly target: MembershipTarget) {}

  /**
   * On the leader only (a follower forwards MemberAdd here, see leader-calls.ts): a follower's
   * cluster state may lag the leader's, so a retried add checked there could pass and add a
   * second member with the same peer URLs (issue 15). The add waits (within the request
   * timeout) until the leader has applied everything committed and no other change is pending,
   * then checks and proposes in one turn (the proposer hands the change to raft before its
   * first await), so no change can come between. A change raft still refuses is checked again
   * rather than re-proposed unchecked. Concurrent adds are serialized this way, as etcd
   * serializes them; one still waiting at the request timeout fails with "request timed out",
   * as in etcd.
   */
  async add(peerUrls: readonly string[], isLearner: boolean, signal?: AbortSignal): Promise<MemberInfo> {
    const normalized = normalizeUrls(peerUrls);
    if (!this.target.isLeader()) throw serverError('notLeader');
    const { clock } = this.target.options;
    const deadline = new AbortController();
    const cancelTimer = clock.setTimer(this.target.requestTimeoutMs, () => deadline.abort(serverError('timeout')));
    const linked = linkSignals(signal, deadline.signal);
    try {
      for (;;) {
        await this.untilConfChangeReady(linked.signal);
        const member = this.checkAdd(normalized, isLearner);
        try {
          await this.propose([{ type: isLearner ? 'addLearner' : 'addVoter', nodeId: member.id }], member, linked.signal, false);
          return member;
        } catch (error) {
          if (!(error instanceof ProposalDroppedError)) throw error;
        }
        // Refused for a reason confChangeReady does not see (a leadership transfer, the
        // uncommitted-bytes limit): wait a heartbeat, then check everything again.
        await sleep(clock, this.target.options.heartbeatIntervalMs, linked.signal);
      }
    } finally {
      cancelTimer();
      linked.dispose();
    }
  }

  /** etcd's checks of an add against the (leader's, complete) cluster state; returns the member to add. */
  private checkAdd(normalized: string[], isLearner: boolean): MemberInfo {
    const { cluster } = this.target;
    for (const m of cluster.members.values()) {
      if (m.peerUrls.some((url) => normalized.includes(url))) throw serverError('peerUrlExist');
    }
    if (isLearner) {
      const learners = [...cluster.members.values()].filter((m) => m.isLearner).length;
      if (learners >= MAX_LEARNERS) throw serverError('tooManyLearners');
    } else {
      this.requireQuorumAfter(1);
    }
    const id = computeMemberId(normalized, this.target.options.initialClusterToken, Date.now());
    if (cluster.members.has(id) || cluster.removed.has(id)) throw serverError('memberExist');
    return { id, name: '', peerUrls: normalized, clientUrls: [], isLearner };
  }

  /** Polls every heartbeat: applying, and raft's pending change, move within a few ready passes. */
  private async untilConfChangeReady(signal: AbortSignal): Promise<void> {
    while (!this.target.confChangeReady()) {
      if (!this.target.isLeader()) throw serverError('leaderChanged');
      await sleep(this.target.options.clock, this.target.options.heartbeatIntervalMs, signal);
    }
  }

  async remove(id: bigint, signal?: AbortSignal): Promise<void> {
    const member = this.target.cluster.members.get(id);
    if (member === undefined) throw serverError('memberNotFound');
    if (!member.isLearner) this.requireQuorumAfter(0, id);
    await this.propose([{ type: 'removeVoter', nodeId: id }], member, signal);
  }

  /** Proposed as a normal request stamped with `caller` (the MemberUpdate call's). */
  async update(id: bigint, peerUrls: readonly string[], signal?: AbortSignal, caller?: CallIdentity): Promise<void> {
    const { cluster } = this.target;
    const member = cluster.members.get(id);
    if (member === undefined) throw serverError('memberNotFound');
    const normalized = normalizeUrls(peerUrls);
    for (const m of cluster.members.values()) {
      if (m.id !== id && m.peerUrls.some((url) => normalized.includes(url))) throw serverError('peerUrlExist');
    }
    // An update changes no voter: a change with no single changes would mean "leave joint",
    // so it goes through the log as a normal request instead.
    const updated: MemberInfo = { ...member, peerUrls: normalized };
    await this.target.propose({ case: 'memberUpdate', value: memberToPb(updated) }, signal, caller);
  }

  async promote(id: bigint, signal?: AbortSignal): Promise<void> {
    const member = this.target.cluster.members.get(id);
    if (member === undefined) throw serverError('memberNotFound');
    if (!member.isLearner) throw serverError('memberNotLearner');
    const progress = this.target.raftProgress();
    if (progress === undefined) throw serverError('notLeader');
    const learner = progress.get(id);
    const leaderLast = this.target.raftLastIndex();
    if (learner === undefined || learner.match < PROMOTE_READY_RATIO * leaderLast) throw serverError('learnerNotReady');
    this.requireQuorumAfter(1, undefined, id);
    await this.propose([{ type: 'addVoter', nodeId: id }], { ...member, isLearner: false }, signal);
  }

  /**
   * etcd's strict reconfiguration check: after adding `adding` voters and removing
   * `removedId` (if given), the voters known to be started (active in raft, by the leader's view) must still be a
   * quorum of the new voter set. A learner being promoted (`promotingId`) counts as started,
   * and adding a second voter to a one-member cluster is allowed (etcd's restore-and-grow case:
   * 1 started of 2).
   */
  private requireQuorumAfter(adding: number, removedId?: bigint, promotingId?: bigint): void {
    const progress = this.target.raftProgress();
    if (progress === undefined) return; // only the leader knows; followers forward nothing here
    const voters = [...this.target.cluster.members.values()].filter((m) => !m.isLearner && m.id !== removedId);
    let started = voters.filter((m) => m.id === this.target.memberId || progress.get(m.id)?.recentActive === true).length;
    if (promotingId !== undefined) started += 1;
    const total = voters.length + adding;
    if (adding === 1 && promotingId === undefined && voters.length === 1 && started === 1) return;
    if (started < Math.floor(total / 2) + 1) throw serverError('memberNotEnoughStarted');
  }

  private async propose(changes: ConfChangeSingle[], member: MemberInfo, signal?: AbortSignal, retryDropped = true): Promise<void> {
    const requestId = this.target.nextRequestId();
    const context = toBinary(RaftRequestSchema, create(RaftRequestSchema, { id: requestId, request: { case: 'memberUpdate', value: memberToPb(member) } }));
    await this.target.proposeConfChange(requestId, { transition: 'auto', changes, context }, signal, { retryDropped });
  }
}

function normalizeUrls(urls: readonly string[]): string[] {
  if (urls.length === 0) throw serverError('memberBadUrls');
  return urls.map((text) => {
    try {
      const url = new URL(text);
      if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.port === '') throw new Error('bad');
      return `${url.protocol}//${url.host}`;
    } catch {
      throw serverError('memberBadUrls');
    }
  });
}
