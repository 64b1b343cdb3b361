/**
 * The safety properties of Raft (paper Figure 3, plus a few of our own), checked after every
 * simulation step against what the nodes hold and what they persisted. Each check is
 * incremental, so it can run after every message delivery and every Ready without making the
 * simulation slow. A violation is recorded with the step at which it was seen; the simulation
 * stops at the first one.
 */
import type { Entry, Message, NodeId, ReadState, Ready } from '../../src/raft/index.js';
import type { HarnessNode } from '../raft/support/harness-node.js';

export interface Violation {
  readonly property: string;
  readonly detail: string;
  readonly step: number;
}

/** Entries are shared by reference between simulated nodes, so their identity is computed once. */
const identities = new WeakMap<Entry, string>();

function entryIdentity(entry: Entry): string {
  let identity = identities.get(entry);
  if (identity === undefined) {
    identity = computeIdentity(entry);
    identities.set(entry, identity);
  }
  return identity;
}

function computeIdentity(entry: Entry): string {
  let hash = 0x811c9dc5;
  for (const byte of entry.data) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return `${entry.term}/${entry.type === 'confChange' ? 'c' : 'n'}/${hash.toString(16)}/${entry.data.byteLength}`;
}

interface LeaderRecord {
  readonly id: NodeId;
  lastIndex: number;
  lastIdentity: string;
}

export class InvariantChecker {
  violation: Violation | undefined;
  checks = 0;
  step = 0;
  /** term -> the leader of that term. */
  private readonly leaders = new Map<number, LeaderRecord>();
  /** "index/term" -> identity and previous entry's term, as first persisted by any node. */
  private readonly persisted = new Map<string, { identity: string; prevTerm: number }>();
  /** index -> identity of the entry committed there. */
  private readonly committed = new Map<number, string>();
  private maxCommittedIndex = 0;
  /** index -> identity of the entry applied there by any node. */
  private readonly applied = new Map<number, string>();
  private readonly recordedCommit = new Map<NodeId, number>();
  private readonly lastCommit = new Map<NodeId, number>();
  private readonly persistedState = new Map<NodeId, { term: number; commit: number }>();
  /** read context -> the highest committed index known when the read was issued. */
  private readonly readFloor = new Map<string, number>();
  readsChecked = 0;

  fail(property: string, detail: string): void {
    if (this.violation === undefined) this.violation = { property, detail, step: this.step };
  }

  /** The node restarted: its volatile state may legitimately go back to what it persisted. */
  onRestart(id: NodeId): void {
    this.lastCommit.delete(id);
    this.recordedCommit.delete(id);
  }

  /** Called after `node` persisted `ready` (before its messages are sent). */
  onPersisted(node: HarnessNode, ready: Ready): void {
    this.checks += 1;
    const { hardState } = node.storage.initialState();
    const before = this.persistedState.get(node.id);
    if (before !== undefined) {
      if (hardState.term < before.term) this.fail('Term Monotonicity', `node ${node.id} persisted term ${hardState.term} after ${before.term}`);
      if (hardState.commit < before.commit) this.fail('Commit Monotonicity', `node ${node.id} persisted commit ${hardState.commit} after ${before.commit}`);
    }
    this.persistedState.set(node.id, { term: hardState.term, commit: hardState.commit });
    for (const entry of ready.entries) {
      // Log Matching, inductively: an entry with a given index and term is always the same entry
      // and always follows the same term, so two logs sharing it agree on everything before it.
      let prevTerm: number;
      try {
        prevTerm = node.storage.term(entry.index - 1);
      } catch {
        prevTerm = -1;
      }
      const key = `${entry.index}/${entry.term}`;
      const identity = entryIdentity(entry);
      const seen = this.persisted.get(key);
      if (seen === undefined) {
        this.persisted.set(key, { identity, prevTerm });
      } else if (seen.identity !== identity || (seen.prevTerm !== prevTerm && seen.prevTerm !== -1 && prevTerm !== -1)) {
        this.fail('Log Matching', `node ${node.id} persisted ${key} as ${identity} after prev term ${prevTerm}; first seen as ${seen.identity} after ${seen.prevTerm}`);
      }
    }
    // Vote persisted before the vote is granted (or superseded by a later persisted term, after
    // which this node can never vote in the granted term again).
    for (const m of ready.messages) {
      if (m.type === 'voteResp' && !m.reject && hardState.term <= m.term && (hardState.vote !== m.to || hardState.term !== m.term)) {
        this.fail('Vote Durability', `node ${node.id} granted term ${m.term} to ${m.to} with persisted vote ${hardState.vote} in term ${hardState.term}`);
      }
    }
  }

  /** Called for each committed entry a node applies. */
  onApplied(node: HarnessNode, entry: Entry): void {
    const identity = entryIdentity(entry);
    const seen = this.applied.get(entry.index);
    if (seen === undefined) this.applied.set(entry.index, identity);
    else if (seen !== identity) this.fail('State Machine Safety', `node ${node.id} applied ${identity} at ${entry.index}, another node applied ${seen}`);
  }

  /** Called when a read was requested at some node. */
  onReadRequested(context: string): void {
    this.readFloor.set(context, this.maxCommittedIndex);
  }

  /** Called for each ReadState a node emits: linearizable reads never go back in time. */
  onReadState(node: HarnessNode, readState: ReadState): void {
    const context = new TextDecoder().decode(readState.requestContext);
    const floor = this.readFloor.get(context);
    this.readsChecked += 1;
    if (floor !== undefined && readState.index < floor) {
      this.fail('Linearizable ReadIndex', `node ${node.id} answered read ${context} at index ${readState.index}, but ${floor} was committed before the read was issued`);
    }
    this.readFloor.delete(context);
  }

  /** Checks every node's volatile state; called after every step. */
  checkAll(nodes: Iterable<HarnessNode>): void {
    for (const node of nodes) this.checkNode(node);
  }

  private checkNode(node: HarnessNode): void {
    this.checks += 1;
    const r = node.rawNode.raft;
    const log = r.raftLog;
    const previousCommit = this.lastCommit.get(node.id) ?? 0;
    if (log.committed < previousCommit) this.fail('Commit Monotonicity', `node ${node.id} commit went from ${previousCommit} to ${log.committed}`);
    this.lastCommit.set(node.id, log.committed);
    if (log.applied > log.committed) this.fail('Applied <= Committed', `node ${node.id} applied ${log.applied} > committed ${log.committed}`);

    // Record what this node has committed; two nodes never commit different entries at an index.
    const from = Math.max((this.recordedCommit.get(node.id) ?? 0) + 1, log.firstIndex());
    if (log.committed >= from) {
      for (const entry of log.slice(from, log.committed + 1, Number.MAX_SAFE_INTEGER)) {
        const identity = entryIdentity(entry);
        const seen = this.committed.get(entry.index);
        if (seen === undefined) this.committed.set(entry.index, identity);
        else if (seen !== identity) this.fail('State Machine Safety', `node ${node.id} committed ${identity} at ${entry.index}, ${seen} was committed there before`);
      }
      this.maxCommittedIndex = Math.max(this.maxCommittedIndex, log.committed);
    }
    this.recordedCommit.set(node.id, Math.max(log.committed, this.recordedCommit.get(node.id) ?? 0));

    const selfProgress = r.tracker.progress.get(node.id);
    if ((r.role === 'candidate' || r.role === 'preCandidate') && selfProgress?.isLearner === true) {
      this.fail('Learners Never Vote', `learner ${node.id} is a ${r.role}`);
    }
    if (r.role !== 'leader') return;

    const leader = this.leaders.get(r.term);
    if (leader === undefined) {
      this.onNewLeader(node);
    } else if (leader.id !== node.id) {
      this.fail('Election Safety', `nodes ${leader.id} and ${node.id} both lead term ${r.term}`);
    } else {
      // Leader Append-Only: the leader never overwrites or deletes its entries.
      const last = log.lastIndex();
      if (last < leader.lastIndex) this.fail('Leader Append-Only', `leader ${node.id} log shrank from ${leader.lastIndex} to ${last}`);
      else if (leader.lastIndex >= log.firstIndex()) {
        const [entry] = log.slice(leader.lastIndex, leader.lastIndex + 1, Number.MAX_SAFE_INTEGER);
        if (entry !== undefined && entryIdentity(entry) !== leader.lastIdentity) {
          this.fail('Leader Append-Only', `leader ${node.id} replaced its entry at ${leader.lastIndex}`);
        }
      }
      this.rememberLeaderTail(leader, node);
    }
  }

  private onNewLeader(node: HarnessNode): void {
    const r = node.rawNode.raft;
    const log = r.raftLog;
    for (const id of r.lastElectionVoters) {
      if (!r.tracker.isVoter(id)) this.fail('Learners Never Vote', `leader ${node.id} of term ${r.term} counted the vote of non-voter ${id}`);
    }
    // Leader Completeness: every entry committed so far is in the new leader's log.
    if (log.lastIndex() < this.maxCommittedIndex) {
      this.fail('Leader Completeness', `leader ${node.id} of term ${r.term} has last index ${log.lastIndex()} < committed ${this.maxCommittedIndex}`);
    }
    const first = log.firstIndex();
    for (const [index, identity] of this.committed) {
      if (index < first || index > log.lastIndex()) continue;
      const [entry] = log.slice(index, index + 1, Number.MAX_SAFE_INTEGER);
      if (entry !== undefined && entryIdentity(entry) !== identity) {
        this.fail('Leader Completeness', `leader ${node.id} of term ${r.term} has ${entryIdentity(entry)} at ${index}, committed was ${identity}`);
        break;
      }
    }
    const record: LeaderRecord = { id: node.id, lastIndex: 0, lastIdentity: '' };
    this.rememberLeaderTail(record, node);
    this.leaders.set(r.term, record);
  }

  private rememberLeaderTail(record: LeaderRecord, node: HarnessNode): void {
    const log = node.rawNode.raft.raftLog;
    const last = log.lastIndex();
    if (last === record.lastIndex || last < log.firstIndex()) return;
    const [entry] = log.slice(last, last + 1, Number.MAX_SAFE_INTEGER);
    record.lastIndex = last;
    record.lastIdentity = entry === undefined ? '' : entryIdentity(entry);
  }

  stats(): { leaders: number; committedEntries: number; checks: number; readsChecked: number } {
    return { leaders: this.leaders.size, committedEntries: this.committed.size, checks: this.checks, readsChecked: this.readsChecked };
  }
}

export type { Message };
