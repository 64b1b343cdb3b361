import { assert } from '../base/assert.js';
import type { RaftConfig } from './config.js';
import { resolveRaftConfig } from './config.js';
import { encodeConfChange } from './confchange/codec.js';
import { ConclaveError } from '../base/errors.js';
import { ProposalDroppedError } from './errors.js';
import { RaftLog } from './log/raft-log.js';
import { Raft } from './raft.js';
import type { ConfChange, ConfState, Entry, HardState, Message, MessageType, NodeId, ReadState, Snapshot, SoftState } from './types.js';
import { NONE, hardStateEqual, isEmptyHardState, message } from './types.js';
import type { ProgressState } from './tracker/progress.js';

/**
 * One batch of work for the caller. Handle it in this order, then call advance():
 * 1. persist `hardState` (if set), `entries` and `snapshot` (if set), fsynced when `mustSync`;
 * 2. send `messages` (only after step 1: they may promise what step 1 persists);
 * 3. restore the state machine from `snapshot` (if set), then apply `committedEntries`
 *    in order (for 'confChange' entries, call RawNode.applyConfChange);
 * 4. serve `readStates`: a read with that context may be answered once the state machine has
 *    applied up to its index.
 */
export interface Ready {
  readonly softState?: SoftState;
  readonly hardState?: HardState;
  readonly readStates: readonly ReadState[];
  readonly entries: readonly Entry[];
  readonly snapshot?: Snapshot;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  /** Whether step 1 needs an fsync: the term, vote or entries changed. */
  readonly mustSync: boolean;
}

export interface ProgressStatus {
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly isLearner: boolean;
  readonly recentActive: boolean;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly hardState: HardState;
  readonly softState: SoftState;
  readonly applied: number;
  readonly lastIndex: number;
  readonly firstIndex: number;
  readonly confState: ConfState;
  readonly leadTransferee: NodeId;
  /** Only on the leader: its view of every member. */
  readonly progress?: ReadonlyMap<NodeId, ProgressStatus>;
}

/** The caller stepped a message that only Raft itself may generate, or an unknown peer's response. */
export class StepRejectedError extends ConclaveError {
  constructor(reason: string) {
    super('ERR_RAFT_STEP_REJECTED', `raft step rejected: ${reason}`);
    this.name = 'StepRejectedError';
  }
}

const LOCAL_TYPES = new Set<MessageType>(['hup', 'beat', 'unreachable', 'snapStatus', 'checkQuorum']);
const RESPONSE_TYPES = new Set<MessageType>(['appResp', 'voteResp', 'heartbeatResp', 'unreachable', 'preVoteResp']);

/**
 * The synchronous, single-threaded interface to Raft (in the style of etcd-io/raft's RawNode):
 * inputs are tick() and step(); output is one Ready at a time, acknowledged by advance().
 * Other inputs may be given between ready() and advance(); advance() acknowledges exactly the
 * last Ready returned.
 */
export class RawNode {
  readonly raft: Raft;
  private previousSoftState: SoftState;
  private previousHardState: HardState;
  private inFlight: Ready | undefined;

  constructor(config: RaftConfig) {
    this.raft = new Raft(resolveRaftConfig(config));
    this.previousSoftState = this.softState();
    this.previousHardState = this.hardState();
  }

  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (pre-vote first, when enabled). */
  campaign(): void {
    this.raft.stepMessage(message({ type: 'hup', from: this.raft.id }));
  }

  /** Proposes `data` for the log. Throws ProposalDroppedError when it cannot be accepted now. */
  propose(data: Uint8Array): void {
    this.raft.stepMessage(message({ type: 'prop', from: this.raft.id, entries: [{ term: 0, index: 0, type: 'normal', data }] }));
  }

  /** Proposes a membership change; apply it with applyConfChange once it is committed. */
  proposeConfChange(change: ConfChange): void {
    const data = encodeConfChange(change);
    this.raft.stepMessage(message({ type: 'prop', from: this.raft.id, entries: [{ term: 0, index: 0, type: 'confChange', data }] }));
  }

  /** Applies a committed membership change and returns the configuration now in force. */
  applyConfChange(change: ConfChange): ConfState {
    return this.raft.applyConfChange(change);
  }

  /**
   * Asks for a linearizable read index. A ReadState with the same context appears in a later
   * Ready. `requestContext` must be unique among pending requests (the server uses a counter).
   */
  readIndex(requestContext: Uint8Array): void {
    assert(requestContext.byteLength > 0, 'a read index request context must not be empty');
    this.raft.stepMessage(message({ type: 'readIndex', from: this.raft.id, context: requestContext }));
  }

  /** Asks the leader to hand leadership to `to` (dissertation 3.10). */
  transferLeadership(to: NodeId): void {
    this.raft.stepMessage(message({ type: 'transferLeader', from: to }));
  }

  /** Delivers a message from a peer. Proposals forwarded by peers are dropped quietly when refused. */
  step(m: Message): void {
    if (LOCAL_TYPES.has(m.type)) throw new StepRejectedError(`${m.type} is a local message`);
    if (RESPONSE_TYPES.has(m.type) && !this.raft.tracker.progress.has(m.from)) {
      // A response from a node outside the configuration (for example, just removed).
      return;
    }
    try {
      this.raft.stepMessage(m);
    } catch (error) {
      if (error instanceof ProposalDroppedError && (m.type === 'prop' || m.type === 'readIndex')) return;
      throw error;
    }
  }

  reportUnreachable(id: NodeId): void {
    this.raft.stepMessage(message({ type: 'unreachable', from: id }));
  }

  reportSnapshot(id: NodeId, failed: boolean): void {
    this.raft.stepMessage(message({ type: 'snapStatus', from: id, reject: failed }));
  }

  hasReady(): boolean {
    const r = this.raft;
    if (r.broadcastPending && r.role === 'leader') return true;
    if (!softStateEqual(this.softState(), this.previousSoftState)) return true;
    const hardState = this.hardState();
    if (!isEmptyHardState(hardState) && !hardStateEqual(hardState, this.previousHardState)) return true;
    if (r.raftLog.hasUnstableSnapshot()) return true;
    if (r.msgs.length > 0 || r.raftLog.unstableEntries().length > 0 || r.raftLog.hasNextCommittedEntries()) return true;
    return r.readStates.length > 0;
  }

  /**
   * Returns the next batch of work and considers it handed out: the next ready() contains only
   * what happened after this one. Call advance() once the batch is handled.
   */
  ready(): Ready {
    assert(this.inFlight === undefined, 'ready() called again before advance()');
    const r = this.raft;
    r.flushBroadcast();
    const softState = this.softState();
    const hardState = this.hardState();
    const entries = [...r.raftLog.unstableEntries()];
    const committedEntries = r.raftLog.nextCommittedEntries();
    const snapshot = r.raftLog.unstable.snapshot;
    const hardStateChanged = !hardStateEqual(hardState, this.previousHardState);
    const ready: Ready = {
      ...(softStateEqual(softState, this.previousSoftState) ? {} : { softState }),
      ...(hardStateChanged ? { hardState } : {}),
      readStates: r.readStates,
      entries,
      ...(snapshot === undefined ? {} : { snapshot }),
      committedEntries,
      messages: r.msgs,
      mustSync: entries.length > 0 || hardState.term !== this.previousHardState.term || hardState.vote !== this.previousHardState.vote,
    };
    // Accept the batch.
    this.previousSoftState = softState;
    if (hardStateChanged) this.previousHardState = hardState;
    r.msgs = [];
    r.readStates = [];
    if (committedEntries.length > 0) {
      const last = committedEntries[committedEntries.length - 1]!;
      r.raftLog.acceptApplying(last.index);
      r.reduceUncommittedBytes(RaftLog.payloadBytes(committedEntries));
    }
    this.inFlight = ready;
    return ready;
  }

  /** Acknowledges the last Ready: its entries and snapshot are persisted and its committed entries applied. */
  advance(): void {
    const ready = this.inFlight;
    assert(ready !== undefined, 'advance() called without a ready()');
    this.inFlight = undefined;
    const r = this.raft;
    if (ready.snapshot !== undefined) r.raftLog.appliedSnapshot(ready.snapshot);
    if (ready.entries.length > 0) {
      const last = ready.entries[ready.entries.length - 1]!;
      r.raftLog.stableTo(last.index, last.term);
      // A leader's own copy counts toward commit from now on (a single voter commits here).
      r.leaderPersisted(last.index, last.term);
    }
    if (ready.committedEntries.length > 0) {
      r.appliedTo(ready.committedEntries[ready.committedEntries.length - 1]!.index);
    }
  }

  status(): RaftStatus {
    const r = this.raft;
    let progress: Map<NodeId, ProgressStatus> | undefined;
    if (r.role === 'leader') {
      progress = new Map();
      for (const [id, pr] of r.tracker.progress) {
        progress.set(id, { match: pr.match, next: pr.next, state: pr.state, isLearner: pr.isLearner, recentActive: pr.recentActive });
      }
    }
    return {
      id: r.id,
      hardState: this.hardState(),
      softState: this.softState(),
      applied: r.raftLog.applied,
      lastIndex: r.raftLog.lastIndex(),
      firstIndex: r.raftLog.firstIndex(),
      confState: r.tracker.confState(),
      leadTransferee: r.leadTransferee,
      ...(progress === undefined ? {} : { progress }),
    };
  }

  private softState(): SoftState {
    return { leader: this.raft.lead, role: this.raft.role };
  }

  private hardState(): HardState {
    return { term: this.raft.term, vote: this.raft.vote, commit: this.raft.raftLog.committed };
  }
}

function softStateEqual(a: SoftState, b: SoftState): boolean {
  return a.leader === b.leader && a.role === b.role;
}

export { NONE };
