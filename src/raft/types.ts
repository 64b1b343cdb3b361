/**
 * The data Raft exchanges with its caller: log entries, persistent state, snapshots,
 * membership configurations and messages. Terms and indexes are numbers (asserted to stay
 * safe integers); node ids are 64-bit like etcd's member ids, so they are bigint.
 */

/** A member id. 0n means "nobody" (no vote cast, no known leader). */
export type NodeId = bigint;
export const NONE: NodeId = 0n;

export type EntryType = 'normal' | 'confChange';

/**
 * One log entry. Invariant: within a log, indexes are consecutive and terms never decrease.
 * An entry with empty data and type 'normal' is the no-op a new leader appends (section 8).
 */
export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  /** Opaque to Raft for 'normal'; an encoded ConfChange (see conf-change-codec.ts) for 'confChange'. */
  readonly data: Uint8Array;
}

/**
 * What must be on stable storage before any message of the same Ready is sent.
 * Invariants: term never decreases; vote is cast at most once per term; commit never decreases.
 */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
}

export const EMPTY_HARD_STATE: HardState = Object.freeze({ term: 0, vote: NONE, commit: 0 });

export function isEmptyHardState(state: HardState): boolean {
  return state.term === 0 && state.vote === NONE && state.commit === 0;
}

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/**
 * A membership configuration. In a joint configuration (during joint consensus) both
 * `voters` (incoming) and `votersOutgoing` must agree for elections and commits.
 * Invariants: a node is in at most one of voters/learners; `learnersNext` holds voters of the
 * outgoing config that become learners once the joint config is left; `autoLeave` is set only
 * when votersOutgoing is non-empty.
 */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly votersOutgoing: readonly NodeId[];
  readonly learnersNext: readonly NodeId[];
  readonly autoLeave: boolean;
}

export const EMPTY_CONF_STATE: ConfState = Object.freeze({
  voters: [],
  learners: [],
  votersOutgoing: [],
  learnersNext: [],
  autoLeave: false,
});

export interface SnapshotMetadata {
  /** The index of the last entry the snapshot covers. */
  readonly index: number;
  /** The term of that entry. */
  readonly term: number;
  /** The configuration in force at `index`. */
  readonly confState: ConfState;
}

/** An application snapshot. `data` is opaque to Raft. index 0 means "no snapshot". */
export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
}

export const EMPTY_SNAPSHOT: Snapshot = Object.freeze({
  metadata: Object.freeze({ index: 0, term: 0, confState: EMPTY_CONF_STATE }),
  data: new Uint8Array(0),
});

export function isEmptySnapshot(snapshot: Snapshot | undefined): boolean {
  return snapshot === undefined || snapshot.metadata.index === 0;
}

export type ConfChangeType = 'addVoter' | 'removeVoter' | 'addLearner';

export interface ConfChangeSingle {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
}

/**
 * How a membership change is carried out.
 * - 'auto': one simple change is applied directly (the single-server method); several go
 *   through joint consensus, and Raft leaves the joint config by itself.
 * - 'joint-implicit': joint consensus, left automatically once committed.
 * - 'joint-explicit': joint consensus, left only when the application proposes an empty change.
 */
export type ConfChangeTransition = 'auto' | 'joint-implicit' | 'joint-explicit';

/**
 * A membership change. An empty `changes` list with a joint config in force means "leave the
 * joint configuration". `context` is opaque to Raft (the server carries member URLs in it).
 */
export interface ConfChange {
  readonly transition: ConfChangeTransition;
  readonly changes: readonly ConfChangeSingle[];
  readonly context: Uint8Array;
}

export type MessageType =
  /** Local: start an election (sent to self by tick or by the application). */
  | 'hup'
  /** Local: a leader should send heartbeats now. */
  | 'beat'
  /** A proposal: local, or forwarded by a follower to its leader. */
  | 'prop'
  | 'app'
  | 'appResp'
  | 'vote'
  | 'voteResp'
  | 'preVote'
  | 'preVoteResp'
  | 'snap'
  | 'heartbeat'
  | 'heartbeatResp'
  /** Local: the transport could not reach `from`. */
  | 'unreachable'
  /** Local: how sending a snapshot to `from` ended (reject = failed). */
  | 'snapStatus'
  /** Local: the leader checks it still hears from a quorum. */
  | 'checkQuorum'
  | 'transferLeader'
  | 'timeoutNow'
  | 'readIndex'
  | 'readIndexResp';

/**
 * A Raft message. Fields not used by a type are left at their zero value; see each handler for
 * which fields a type carries. `term` 0 marks a local message.
 */
export interface Message {
  readonly type: MessageType;
  readonly to: NodeId;
  readonly from: NodeId;
  readonly term: number;
  /** app: term of the entry at `index`; vote/preVote: term of the candidate's last entry; appResp reject: term at rejectHint. */
  readonly logTerm: number;
  /** app: index preceding `entries`; appResp: last index accepted or probed; vote: candidate's last index. */
  readonly index: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  readonly snapshot?: Snapshot;
  readonly reject: boolean;
  /** appResp reject: the follower's guess of where the logs may match. */
  readonly rejectHint: number;
  /** heartbeat/readIndex: the request context of a read (opaque bytes, unique per request). */
  readonly context: Uint8Array;
}

const EMPTY_BYTES = new Uint8Array(0);
const NO_ENTRIES: readonly Entry[] = Object.freeze([]);

/**
 * Builds a message with every field not given set to its zero value. Every message has the
 * same fields in the same order, so the engine keeps one object shape for all of them.
 */
export function message(fields: Partial<Message> & Pick<Message, 'type'>): Message {
  return {
    type: fields.type,
    to: fields.to ?? NONE,
    from: fields.from ?? NONE,
    term: fields.term ?? 0,
    logTerm: fields.logTerm ?? 0,
    index: fields.index ?? 0,
    entries: fields.entries ?? NO_ENTRIES,
    commit: fields.commit ?? 0,
    snapshot: fields.snapshot,
    reject: fields.reject ?? false,
    rejectHint: fields.rejectHint ?? 0,
    context: fields.context ?? EMPTY_BYTES,
  };
}

/** A linearizable read the application may now serve: everything up to `index` is committed. */
export interface ReadState {
  readonly index: number;
  readonly requestContext: Uint8Array;
}

export type StateRole = 'follower' | 'candidate' | 'preCandidate' | 'leader';

/** Volatile state that changed since the last Ready. */
export interface SoftState {
  readonly leader: NodeId;
  readonly role: StateRole;
}

/** The size Raft charges an entry against byte limits: its payload only, as etcd does. */
export function entryPayloadBytes(entry: Entry): number {
  return entry.data.byteLength;
}
