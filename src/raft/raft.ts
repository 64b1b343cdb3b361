import { assert } from '../base/assert.js';
import type { RaftTestingBugs, ResolvedRaftConfig } from './config.js';
import { ConfChangeError, Changer, restoreConfig } from './confchange/changer.js';
import { decodeConfChange, encodeConfChange, entersJoint, leavesJoint } from './confchange/codec.js';
import { ProposalDroppedError, SnapshotTemporarilyUnavailableError } from './errors.js';
import { RaftLog } from './log/raft-log.js';
import { ReadOnly } from './read-only.js';
import { stepCandidate } from './roles/candidate.js';
import { stepFollower } from './roles/follower.js';
import { releasePendingReadIndexMessages, stepLeader } from './roles/leader.js';
import type { Random } from '../base/random.js';
import type { ConfChange, ConfState, Entry, Message, MessageType, NodeId, ReadState, Snapshot, StateRole } from './types.js';
import { NONE, isEmptyHardState, message } from './types.js';
import type { Progress } from './tracker/progress.js';
import type { ChangeResult } from './confchange/changer.js';
import { ProgressTracker, isJoint } from './tracker/tracker.js';

export type CampaignType = 'preElection' | 'election' | 'transfer';

/** Marks a vote request sent on a leadership transfer: it may disturb a live leader. */
export const TRANSFER_CONTEXT = new TextEncoder().encode('conclave-transfer');

export type StepFunction = (r: Raft, m: Message) => void;

function isTransferContext(context: Uint8Array): boolean {
  if (context.byteLength !== TRANSFER_CONTEXT.byteLength) return false;
  for (let i = 0; i < context.byteLength; i++) if (context[i] !== TRANSFER_CONTEXT[i]) return false;
  return true;
}

function voteResponseType(type: MessageType): MessageType {
  return type === 'vote' ? 'voteResp' : 'preVoteResp';
}

/**
 * The Raft state machine of one node: the roles, their message handlers (roles/*.ts) and
 * their timers (counted in ticks). It performs no I/O: everything it wants to send collects
 * in `msgs`, everything it wants persisted in `raftLog.unstable`, and RawNode packages both
 * into a Ready.
 *
 * Invariants: term never decreases; vote changes only with the term (or from NONE);
 * lead === id iff role === 'leader'.
 */
export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  lead: NodeId = NONE;
  role: StateRole = 'follower';
  isLearner = false;
  readonly raftLog: RaftLog;
  tracker: ProgressTracker;
  msgs: Message[] = [];
  readStates: ReadState[] = [];
  /** The node the leader is handing leadership to, or NONE. */
  leadTransferee: NodeId = NONE;
  /** Index of the newest conf change the leader appended; none may be proposed until it is applied. */
  pendingConfIndex = 0;
  /** Payload bytes of entries appended by this leader and not yet committed. */
  uncommittedBytes = 0;
  readOnly = new ReadOnly();
  /** ReadIndex requests that arrived before this leader committed an entry of its term. */
  pendingReadIndexMessages: Message[] = [];
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  /** Appends to followers are due before the next Ready (see requestBroadcast). */
  broadcastPending = false;
  /** Granted votes counted when this node last won an election (for the simulator's checks). */
  lastElectionVoters: NodeId[] = [];

  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly checkQuorum: boolean;
  readonly leaderAcksAfterPersist: boolean;
  readonly preVote: boolean;
  readonly maxMessageBytes: number;
  readonly maxUncommittedEntriesBytes: number;
  readonly maxInflightMessages: number;
  readonly maxInflightBytes: number;
  readonly maxPendingReadIndexRequests: number;
  readonly bugs: RaftTestingBugs;
  private readonly random: Random;

  step: StepFunction = stepFollower;
  tick: () => void = () => this.tickElection();

  constructor(config: ResolvedRaftConfig) {
    this.id = config.id;
    this.random = config.random;
    this.electionTicks = config.electionTicks;
    this.heartbeatTicks = config.heartbeatTicks;
    this.checkQuorum = config.checkQuorum;
    this.leaderAcksAfterPersist = config.leaderAcksAfterPersist;
    this.preVote = config.preVote;
    this.maxMessageBytes = config.maxMessageBytes;
    this.maxUncommittedEntriesBytes = config.maxUncommittedEntriesBytes;
    this.maxInflightMessages = config.maxInflightMessages;
    this.maxInflightBytes = config.maxInflightBytes;
    this.maxPendingReadIndexRequests = config.maxPendingReadIndexRequests;
    this.bugs = config.testingBugs;
    this.raftLog = new RaftLog(config.storage, config.maxCommittedBytesPerReady);
    const { hardState, confState } = config.storage.initialState();
    const restored = restoreConfig(confState, this.raftLog.lastIndex(), this.maxInflightMessages, this.maxInflightBytes);
    this.tracker = new ProgressTracker(restored.config, restored.progress);
    this.isLearner = restored.progress.get(this.id)?.isLearner ?? false;
    if (!isEmptyHardState(hardState)) {
      assert(hardState.commit >= this.raftLog.committed && hardState.commit <= this.raftLog.lastIndex(),
        () => `hard state commit ${hardState.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`);
      this.raftLog.committed = hardState.commit;
      this.term = hardState.term;
      this.vote = hardState.vote;
    }
    if (config.applied > 0) this.raftLog.appliedTo(Math.min(config.applied, this.raftLog.committed));
    this.becomeFollower(this.term, NONE);
  }

  // ---- sending ----------------------------------------------------------------------------

  /** Queues a message; stamps `from` (unless given: forwarded transfers keep the transferee) and the term. */
  send(fields: Partial<Message> & Pick<Message, 'type' | 'to'>): void {
    const type = fields.type;
    const m = message(fields) as { -readonly [K in keyof Message]: Message[K] };
    if (m.from === NONE) m.from = this.id;
    if (type === 'vote' || type === 'voteResp' || type === 'preVote' || type === 'preVoteResp') {
      // Vote traffic carries the term of the election it belongs to, set by the caller.
      assert(m.term !== 0, 'term must be set when sending vote traffic');
    } else {
      assert(m.term === 0, 'term must not be set by the caller except for vote traffic');
      // Proposals and read requests forwarded to the leader are treated as local messages.
      if (type !== 'prop' && type !== 'readIndex') m.term = this.term;
    }
    this.msgs.push(m);
  }

  /** Sends an append (or a snapshot) to `to` if its progress allows; returns whether it sent. */
  maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.tracker.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.raftLog.term(prevIndex);
    if (prevTerm === undefined) return this.maybeSendSnapshot(to, pr);
    let entries: Entry[];
    try {
      entries = pr.state === 'replicate' && pr.inflights.full() ? [] : this.raftLog.entriesFrom(pr.next, this.maxMessageBytes);
    } catch {
      return this.maybeSendSnapshot(to, pr);
    }
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send({ type: 'app', to, index: prevIndex, logTerm: prevTerm, entries, commit: this.raftLog.committed });
    pr.sentEntries(entries.length, RaftLog.payloadBytes(entries));
    return true;
  }

  sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  private maybeSendSnapshot(to: NodeId, pr: Progress): boolean {
    // A follower we have not heard from may be down; do not spend a snapshot on it yet.
    if (!pr.recentActive) return false;
    let snapshot: Snapshot;
    try {
      snapshot = this.raftLog.snapshot();
    } catch (error) {
      if (error instanceof SnapshotTemporarilyUnavailableError) return false;
      throw error;
    }
    assert(snapshot.metadata.index > 0, 'a snapshot is needed but none is available');
    pr.becomeSnapshot(snapshot.metadata.index);
    this.send({ type: 'snap', to, snapshot });
    return true;
  }

  sendHeartbeat(to: NodeId, context: Uint8Array | undefined): void {
    // Never tell a follower to commit beyond what it is known to have.
    const commit = Math.min(this.tracker.progress.get(to)?.match ?? 0, this.raftLog.committed);
    this.send({ type: 'heartbeat', to, commit, ...(context === undefined ? {} : { context }) });
  }

  bcastAppend(): void {
    this.broadcastPending = false;
    for (const id of this.tracker.memberIds()) if (id !== this.id) this.sendAppend(id);
  }

  /**
   * Asks for appends to every follower before the next Ready is handed out, instead of at
   * once: all proposals stepped between two Readies then travel in one append per follower.
   */
  requestBroadcast(): void {
    this.broadcastPending = true;
  }

  /** Sends the appends requested since the last Ready (called by RawNode before building one). */
  flushBroadcast(): void {
    if (this.broadcastPending && this.role === 'leader') this.bcastAppend();
    this.broadcastPending = false;
  }

  bcastHeartbeat(context?: Uint8Array): void {
    const ctx = context ?? this.readOnly.lastPendingContext();
    for (const id of this.tracker.memberIds()) if (id !== this.id) this.sendHeartbeat(id, ctx);
  }

  /**
   * Tells `to` to campaign now. It carries the commit index (bounded by what `to` is known to
   * have), so that the target campaigns knowing which membership changes are committed: the
   * configuration it campaigns under must be the one it will lead.
   */
  sendTimeoutNow(to: NodeId): void {
    const commit = Math.min(this.tracker.progress.get(to)?.match ?? 0, this.raftLog.committed);
    this.send({ type: 'timeoutNow', to, commit });
  }

  // ---- committing -------------------------------------------------------------------------

  /** Advances commit to what a quorum has; returns whether it moved. */
  maybeCommit(): boolean {
    return this.raftLog.maybeCommit(this.tracker.committed(), this.term, this.bugs.commitPriorTermByCounting === true);
  }

  committedEntryInCurrentTerm(): boolean {
    return (this.raftLog.term(this.raftLog.committed) ?? 0) === this.term;
  }

  /** Committed entries were handed out for applying: they leave the uncommitted budget. */
  reduceUncommittedBytes(bytes: number): void {
    this.uncommittedBytes = Math.max(0, this.uncommittedBytes - bytes);
  }

  /** Appends entries as leader; returns false (appending nothing) when the uncommitted budget is exhausted. */
  appendEntry(entries: Entry[]): boolean {
    const bytes = RaftLog.payloadBytes(entries);
    if (this.maxUncommittedEntriesBytes > 0 && this.uncommittedBytes > 0 && this.uncommittedBytes + bytes > this.maxUncommittedEntriesBytes) {
      return false;
    }
    this.uncommittedBytes += bytes;
    let index = this.raftLog.lastIndex();
    const stamped = entries.map((entry) => ({ ...entry, term: this.term, index: ++index }));
    const lastIndex = this.raftLog.append(stamped);
    // With leaderAcksAfterPersist the leader's own copy counts only once durable
    // (leaderPersisted, from RawNode.advance). Otherwise it counts now, and the caller must
    // persist it before applying anything (see RawNode).
    if (!this.leaderAcksAfterPersist) {
      this.tracker.progress.get(this.id)?.maybeUpdate(lastIndex);
      this.maybeCommit();
    }
    return true;
  }

  /**
   * The leader's log is durable up to `index` (its Ready was persisted): its own copy now
   * counts toward commit. Returns whether the commit index moved (then followers are told).
   */
  leaderPersisted(index: number, term: number): boolean {
    // The entry persisted must still be the one at `index` (the log may have changed meanwhile).
    if (!this.leaderAcksAfterPersist || this.role !== 'leader' || this.raftLog.term(index) !== term) return false;
    if (!(this.tracker.progress.get(this.id)?.maybeUpdate(index) ?? false)) return false;
    if (!this.maybeCommit()) return false;
    releasePendingReadIndexMessages(this);
    this.bcastAppend();
    return true;
  }

  // ---- roles ------------------------------------------------------------------------------

  reset(term: number): void {
    if (this.term !== term) {
      assert(term > this.term, () => `term would go back from ${this.term} to ${term}`);
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.electionTicks + this.random.int(this.electionTicks);
    this.leadTransferee = NONE;
    this.tracker.resetVotes();
    const lastIndex = this.raftLog.lastIndex();
    for (const [id, pr] of this.tracker.progress) {
      pr.becomeProbe();
      // With leaderAcksAfterPersist only what is durable counts (entries still unstable are
      // counted when their Ready is persisted).
      const ownMatch = this.leaderAcksAfterPersist && this.raftLog.unstable.entries.length > 0 ? this.raftLog.unstable.offset - 1 : lastIndex;
      pr.match = id === this.id ? ownMatch : 0;
      pr.next = lastIndex + 1;
      pr.recentActive = true;
    }
    this.pendingConfIndex = 0;
    this.uncommittedBytes = 0;
    this.readOnly = new ReadOnly();
    this.pendingReadIndexMessages = [];
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.step = stepFollower;
    this.reset(term);
    this.tick = () => this.tickElection();
    this.lead = lead;
    this.role = 'follower';
  }

  becomeCandidate(): void {
    assert(this.role !== 'leader', 'a leader cannot become a candidate directly');
    this.step = stepCandidate;
    this.reset(this.term + 1);
    this.tick = () => this.tickElection();
    this.vote = this.id;
    this.role = 'candidate';
  }

  /** A pre-candidate keeps its term and vote: it only asks whether it could win (section 9.6). */
  becomePreCandidate(): void {
    assert(this.role !== 'leader', 'a leader cannot become a pre-candidate');
    this.step = stepCandidate;
    this.tracker.resetVotes();
    this.tick = () => this.tickElection();
    this.lead = NONE;
    this.role = 'preCandidate';
  }

  becomeLeader(): void {
    assert(this.role !== 'follower', 'a follower cannot become leader without an election');
    this.lastElectionVoters = this.tracker.grantedVoters();
    this.step = stepLeader;
    this.reset(this.term);
    this.tick = () => this.tickHeartbeat();
    this.lead = this.id;
    this.role = 'leader';
    const self = this.tracker.progress.get(this.id);
    if (self !== undefined) {
      self.becomeReplicate();
      self.recentActive = true;
    }
    // Conf changes wait until everything of earlier terms is applied; with the no-op below
    // this means a leader commits an entry of its own term before it changes membership,
    // the fix for the single-server change bug (Ongaro, raft-dev 2015).
    this.pendingConfIndex = this.raftLog.lastIndex();
    // The no-op of section 8: committing it commits every earlier entry and tells the leader
    // its commit index.
    const appended = this.appendEntry([{ term: 0, index: 0, type: 'normal', data: new Uint8Array(0) }]);
    assert(appended, 'the empty entry of a new leader is never dropped');
  }

  // ---- timers -----------------------------------------------------------------------------

  promotable(): boolean {
    const pr = this.tracker.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.hasUnstableSnapshot();
  }

  pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  tickElection(): void {
    this.electionElapsed += 1;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      this.stepMessage(message({ type: 'hup', from: this.id }));
    }
  }

  tickHeartbeat(): void {
    this.heartbeatElapsed += 1;
    this.electionElapsed += 1;
    if (this.electionElapsed >= this.electionTicks) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.stepMessage(message({ type: 'checkQuorum', from: this.id }));
      // A transfer that did not finish within an election timeout is abandoned (and, for a
      // leader that is no longer a voter, started again toward the best voter).
      if (this.role === 'leader' && this.leadTransferee !== NONE) this.leadTransferee = NONE;
      this.maybeHandOffLeadership();
    }
    if (this.role !== 'leader') return;
    if (this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.stepMessage(message({ type: 'beat', from: this.id }));
    }
  }

  // ---- elections --------------------------------------------------------------------------

  hup(type: CampaignType): void {
    if (this.role === 'leader' || !this.promotable()) return;
    // A node must not campaign with conf changes committed but not applied: it may not know
    // the configuration it would lead.
    if (this.hasUnappliedConfChanges()) return;
    this.campaign(type);
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.raftLog.applied >= this.raftLog.committed) return false;
    const entries = this.raftLog.slice(this.raftLog.applied + 1, this.raftLog.committed + 1, Number.MAX_SAFE_INTEGER);
    return entries.some((entry) => entry.type === 'confChange');
  }

  campaign(type: CampaignType): void {
    let voteType: MessageType;
    let term: number;
    if (type === 'preElection') {
      this.becomePreCandidate();
      voteType = 'preVote';
      // A pre-vote asks for the term the real election would use, without moving to it.
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteType = 'vote';
      term = this.term;
    }
    if (this.poll(this.id, voteResponseType(voteType), true) === 'won') {
      // A single-voter configuration wins at once.
      if (type === 'preElection') this.campaign('election');
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.raftLog.lastIndex();
    const lastTerm = this.raftLog.lastTerm();
    for (const id of this.tracker.voterIds()) {
      if (id === this.id) continue;
      this.send({ type: voteType, to: id, term, index: lastIndex, logTerm: lastTerm, ...(type === 'transfer' ? { context: TRANSFER_CONTEXT } : {}) });
    }
  }

  poll(id: NodeId, _type: MessageType, granted: boolean): 'pending' | 'lost' | 'won' {
    this.tracker.recordVote(id, granted);
    return this.tracker.tallyVotes().result;
  }

  // ---- the step entry point ---------------------------------------------------------------

  /** Handles one message: the term rules common to every role, then the role's handler. */
  stepMessage(m: Message): void {
    if (m.term === 0) {
      // A local message.
    } else if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'preVote') {
        const force = isTransferContext(m.context);
        // With check-quorum, a node that heard from a leader within the election timeout
        // ignores vote requests: a partitioned node cannot depose a working leader.
        const inLease = this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTicks;
        if (!force && inLease) return;
      }
      if (m.type === 'preVote') {
        // Never change the term on a pre-vote request.
      } else if (m.type === 'preVoteResp' && !m.reject) {
        // A granted pre-vote carries the future term; the term moves when the pre-election is won.
      } else if (m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === 'heartbeat' || m.type === 'app')) {
        // A leader cut off by a partition may never hear a higher term otherwise (with
        // check-quorum or pre-vote, others ignore or reject its term); tell it ours.
        this.send({ type: 'appResp', to: m.from });
      } else if (m.type === 'preVote') {
        this.send({ type: 'preVoteResp', to: m.from, term: this.term, reject: true });
      } else if (m.type === 'voteResp' || m.type === 'preVoteResp') {
        // A commit index is a fact whatever the term of the message carrying it: a voter left
        // at an older term (it refused our pre-vote, so its term never moved) still tells us
        // what committed, which may be the configuration we need (simulator seed 141030).
        this.maybeLearnCommit(m);
      }
      return;
    }

    if (m.type === 'voteResp' || m.type === 'preVoteResp') this.maybeLearnCommit(m);

    switch (m.type) {
      case 'hup':
        this.hup(this.preVote ? 'preElection' : 'election');
        return;
      case 'vote':
      case 'preVote':
        this.handleVoteRequest(m);
        return;
      default:
        this.step(this, m);
    }
  }

  private handleVoteRequest(m: Message): void {
    const canVote =
      this.vote === m.from ||
      (this.vote === NONE && this.lead === NONE) ||
      // A pre-vote for a future term may be granted even though we have voted in this one.
      (m.type === 'preVote' && m.term > this.term);
    const upToDate = this.bugs.voteWithoutLogCheck === true || this.raftLog.isUpToDate(m.index, m.logTerm);
    // Every answer carries our commit index and the term there (see maybeLearnCommit).
    const commit = this.raftLog.committed;
    const commitTerm = this.raftLog.term(commit) ?? 0;
    if (canVote && upToDate) {
      // Respond with the term of the request: for a pre-vote it is the future term.
      this.send({ type: voteResponseType(m.type), to: m.from, term: m.term, index: commit, logTerm: commitTerm });
      if (m.type === 'vote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: voteResponseType(m.type), to: m.from, term: this.term, reject: true, index: commit, logTerm: commitTerm });
    }
  }

  /**
   * Learns the commit index from a vote response: the voter says entry `index` with term
   * `logTerm` is committed. If our log has that very entry, Log Matching makes our log equal to
   * its log up to there, so everything up to `index` is committed here too. Without this, a
   * voter that missed the commit of its own new configuration (the leader that committed it
   * was removed or demoted and then crashed) could keep campaigning under the old one, waiting
   * for a vote that never comes (the removed member is gone, or refuses because its log is
   * longer); with it, the voter applies the new configuration and campaigns under it.
   */
  private maybeLearnCommit(m: Message): void {
    if (m.index > this.raftLog.committed && m.logTerm > 0 && this.raftLog.matchTerm(m.index, m.logTerm)) {
      this.raftLog.commitTo(m.index);
    }
  }

  // ---- follower-side log handling ---------------------------------------------------------

  handleAppendEntries(m: Message): void {
    if (m.index < this.raftLog.committed) {
      this.send({ type: 'appResp', to: m.from, index: this.raftLog.committed });
      return;
    }
    const lastNewIndex = this.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNewIndex !== undefined) {
      this.send({ type: 'appResp', to: m.from, index: lastNewIndex });
      return;
    }
    // Rejected: hint the largest index whose term is at most the leader's term there, so the
    // leader can skip a whole diverging term per round trip.
    const [hintIndex, hintTerm] = this.raftLog.findConflictByTerm(Math.min(m.index, this.raftLog.lastIndex()), m.logTerm);
    this.send({ type: 'appResp', to: m.from, index: m.index, reject: true, rejectHint: hintIndex, logTerm: hintTerm });
  }

  handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(m.commit);
    this.send({ type: 'heartbeatResp', to: m.from, context: m.context });
  }

  handleSnapshot(m: Message): void {
    const snapshot = m.snapshot;
    if (snapshot !== undefined && this.restore(snapshot)) {
      this.send({ type: 'appResp', to: m.from, index: this.raftLog.lastIndex() });
    } else {
      this.send({ type: 'appResp', to: m.from, index: this.raftLog.committed });
    }
  }

  /** Installs `snapshot` unless we already have its entries; returns whether it was installed. */
  restore(snapshot: Snapshot): boolean {
    const { index, term, confState } = snapshot.metadata;
    if (index <= this.raftLog.committed) return false;
    assert(this.role === 'follower', 'only a follower installs a snapshot');
    // The snapshot's configuration may predate our addition (a member joining a cluster gets
    // the newest snapshot, then the log from there, including the change that added it), so
    // it need not include us; until a configuration does, we are not promotable.
    if (this.raftLog.matchTerm(index, term)) {
      // We have the entries already: just move the commit index.
      this.raftLog.commitTo(index);
      return false;
    }
    this.raftLog.restore(snapshot);
    const restored = restoreConfig(confState, this.raftLog.lastIndex(), this.maxInflightMessages, this.maxInflightBytes);
    this.switchToConfig(restored);
    return true;
  }

  // ---- membership -------------------------------------------------------------------------

  /** Checks a conf change proposal against the rules; returns why it must be refused, or undefined. */
  refuseConfChange(change: ConfChange): string | undefined {
    if (this.pendingConfIndex > this.raftLog.applied) return 'a previous membership change is not applied yet';
    const joint = isJoint(this.tracker.config);
    if (joint && !leavesJoint(change)) return 'the configuration is joint; leave it before another change';
    if (!joint && leavesJoint(change)) return 'the configuration is not joint';
    if (!this.committedEntryInCurrentTerm()) return 'the leader has not committed an entry of its term';
    // Dry run against the configuration the change will be applied to (no other change can
    // come between: the rule on pendingConfIndex above serializes them), so that an invalid
    // change is refused here instead of failing on every member when applied.
    try {
      this.computeConfChange(change);
    } catch (error) {
      if (error instanceof ConfChangeError) return error.message;
      throw error;
    }
    return undefined;
  }

  private computeConfChange(change: ConfChange): ChangeResult {
    const changer = new Changer(this.tracker.config, this.tracker.progress, this.raftLog.lastIndex(), this.maxInflightMessages, this.maxInflightBytes);
    if (leavesJoint(change) && isJoint(this.tracker.config)) return changer.leaveJoint();
    if (entersJoint(change)) return changer.enterJoint(change.transition !== 'joint-explicit', change.changes);
    return changer.simple(change.changes);
  }

  /** Applies a committed conf change; returns the new configuration. */
  applyConfChange(change: ConfChange): ConfState {
    return this.switchToConfig(this.computeConfChange(change));
  }

  private switchToConfig(result: ChangeResult): ConfState {
    this.tracker.config = result.config;
    this.tracker.progress = result.progress;
    const confState = this.tracker.confState();
    const self = result.progress.get(this.id);
    this.isLearner = self?.isLearner ?? false;
    // A campaign in flight under a configuration that no longer makes this node a voter ends
    // (a candidate can learn the commit of such a change from a refused vote and apply it).
    if ((this.role === 'candidate' || this.role === 'preCandidate') && !this.tracker.isVoter(this.id)) {
      this.becomeFollower(this.term, NONE);
      return confState;
    }
    if (this.role !== 'leader' || confState.voters.length === 0) return confState;
    // The quorum changed: the commit index may move, and new members need appends.
    if (this.maybeCommit()) this.bcastAppend();
    else for (const id of this.tracker.memberIds()) if (id !== this.id) this.maybeSendAppend(id, false);
    if (this.leadTransferee !== NONE && !this.tracker.isVoter(this.leadTransferee)) this.leadTransferee = NONE;
    this.maybeHandOffLeadership();
    return confState;
  }

  /**
   * A leader that is no longer a voter (removed, or demoted to learner) keeps leading, without
   * counting itself, and hands leadership to the most up-to-date voter through the transfer
   * mechanism. Stepping down at once could strand the cluster: the remaining voters may not
   * yet know that the change committed, and under the old configuration they may need the
   * vote of this node, whose log may be longer than theirs (so it would refuse them).
   */
  maybeHandOffLeadership(): void {
    if (this.role !== 'leader' || this.tracker.isVoter(this.id) || this.leadTransferee !== NONE) return;
    let best: NodeId = NONE;
    let bestMatch = -1;
    for (const id of this.tracker.voterIds()) {
      const match = this.tracker.progress.get(id)?.match ?? 0;
      if (id !== this.id && match > bestMatch) {
        best = id;
        bestMatch = match;
      }
    }
    if (best !== NONE) this.stepMessage(message({ type: 'transferLeader', from: best }));
  }

  /** Called when the caller reports entries applied; a leader leaves an auto-leave joint config. */
  appliedTo(index: number): void {
    this.raftLog.appliedTo(index);
    if (this.tracker.config.autoLeave && index >= this.pendingConfIndex && this.role === 'leader') {
      const leave: ConfChange = { transition: 'auto', changes: [], context: new Uint8Array(0) };
      const entry: Entry = { term: 0, index: 0, type: 'confChange', data: encodeConfChange(leave) };
      // Through the normal proposal path so every rule (and the pending index) applies.
      try {
        this.stepMessage(message({ type: 'prop', from: this.id, entries: [entry] }));
      } catch (error) {
        if (!(error instanceof ProposalDroppedError)) throw error;
      }
    }
  }

  decodeConfChange(entry: Entry): ConfChange {
    return decodeConfChange(entry.data);
  }
}
