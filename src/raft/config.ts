import type { Random } from '../base/random.js';
import { RaftConfigError } from './errors.js';
import type { Storage } from './storage.js';
import type { NodeId } from './types.js';
import { NONE } from './types.js';

/**
 * Deliberate bugs, for proving that the simulator's checks bite. Never set outside tests.
 */
export interface RaftTestingBugs {
  /** Commit an earlier-term entry by counting replicas (violates section 5.4.2, Figure 8). */
  readonly commitPriorTermByCounting?: boolean;
  /** Grant votes without the log up-to-date check (violates section 5.4.1). */
  readonly voteWithoutLogCheck?: boolean;
  /** Let a leader answer ReadIndex without confirming it still leads (a deposed leader's stale read). */
  readonly readIndexWithoutQuorum?: boolean;
}

export interface RaftConfig {
  /** This node's id; never 0. */
  readonly id: NodeId;
  readonly storage: Storage;
  /** Seeded randomness for election timeouts. */
  readonly random: Random;
  /** A follower or candidate starts an election after [electionTicks, 2*electionTicks) ticks without a leader. Default 10. */
  readonly electionTicks?: number;
  /** A leader sends heartbeats every heartbeatTicks ticks; must be < electionTicks. Default 1. */
  readonly heartbeatTicks?: number;
  /**
   * The last index the application's state machine has applied (on restart). Default:
   * firstIndex() - 1. Pass it whenever the log keeps entries older than the snapshot the state
   * machine was restored from, or they would be handed out (and applied) again.
   */
  readonly applied?: number;
  /** Most payload bytes of entries in one append message (at least one entry is always sent). Default 1 MiB. */
  readonly maxMessageBytes?: number;
  /** Most append messages in flight to one follower in replicate state. Default 256. */
  readonly maxInflightMessages?: number;
  /** Most payload bytes in flight to one follower (0 = unlimited). Default 0. */
  readonly maxInflightBytes?: number;
  /** Most payload bytes of entries a leader holds uncommitted before it drops proposals (0 = unlimited). Default 0. */
  readonly maxUncommittedEntriesBytes?: number;
  /** Most payload bytes of committed entries in one Ready. Default 64 MiB. */
  readonly maxCommittedBytesPerReady?: number;
  /** Most ReadIndex requests a new leader queues until it commits an entry of its term. Default 4096. */
  readonly maxPendingReadIndexRequests?: number;
  /** Pre-vote (dissertation section 9.6): a node asks first whether it could win before disrupting the term. Default true. */
  readonly preVote?: boolean;
  /** Check-quorum: a leader that has not heard from a quorum for an election timeout steps down. Default true. */
  readonly checkQuorum?: boolean;
  /**
   * The leader counts its own copy of new entries toward commit only once the Ready carrying
   * them was persisted (RawNode.advance), not when it appends them. Lets the caller send and
   * apply while it persists without ever committing on fewer durable copies than a quorum
   * (etcd-raft's asynchronous storage writes make the same rule). Default false.
   */
  readonly leaderAcksAfterPersist?: boolean;
  readonly testingBugs?: RaftTestingBugs;
}

export type ResolvedRaftConfig = Required<Omit<RaftConfig, 'applied' | 'testingBugs'>> & {
  readonly applied: number;
  readonly testingBugs: RaftTestingBugs;
};

export const RAFT_DEFAULTS = Object.freeze({
  electionTicks: 10,
  heartbeatTicks: 1,
  maxMessageBytes: 1024 * 1024,
  maxInflightMessages: 256,
  maxInflightBytes: 0,
  maxUncommittedEntriesBytes: 0,
  maxCommittedBytesPerReady: 64 * 1024 * 1024,
  maxPendingReadIndexRequests: 4096,
  preVote: true,
  checkQuorum: true,
  leaderAcksAfterPersist: false,
});

function requirePositiveInteger(field: string, value: number, min = 1): number {
  if (!Number.isSafeInteger(value) || value < min) throw new RaftConfigError(field, `must be an integer >= ${min}, got ${value}`);
  return value;
}

/** Fills in defaults and validates every field; throws RaftConfigError naming the first bad one. */
export function resolveRaftConfig(config: RaftConfig): ResolvedRaftConfig {
  if (typeof config.id !== 'bigint' || config.id === NONE || config.id < 0n) {
    throw new RaftConfigError('id', 'must be a non-zero unsigned 64-bit bigint');
  }
  if (config.storage === undefined) throw new RaftConfigError('storage', 'is required');
  if (config.random === undefined) throw new RaftConfigError('random', 'is required');
  const resolved: ResolvedRaftConfig = {
    id: config.id,
    storage: config.storage,
    random: config.random,
    electionTicks: requirePositiveInteger('electionTicks', config.electionTicks ?? RAFT_DEFAULTS.electionTicks),
    heartbeatTicks: requirePositiveInteger('heartbeatTicks', config.heartbeatTicks ?? RAFT_DEFAULTS.heartbeatTicks),
    applied: requirePositiveInteger('applied', config.applied ?? 0, 0),
    maxMessageBytes: requirePositiveInteger('maxMessageBytes', config.maxMessageBytes ?? RAFT_DEFAULTS.maxMessageBytes),
    maxInflightMessages: requirePositiveInteger('maxInflightMessages', config.maxInflightMessages ?? RAFT_DEFAULTS.maxInflightMessages),
    maxInflightBytes: requirePositiveInteger('maxInflightBytes', config.maxInflightBytes ?? RAFT_DEFAULTS.maxInflightBytes, 0),
    maxUncommittedEntriesBytes: requirePositiveInteger('maxUncommittedEntriesBytes', config.maxUncommittedEntriesBytes ?? RAFT_DEFAULTS.maxUncommittedEntriesBytes, 0),
    maxCommittedBytesPerReady: requirePositiveInteger('maxCommittedBytesPerReady', config.maxCommittedBytesPerReady ?? RAFT_DEFAULTS.maxCommittedBytesPerReady),
    maxPendingReadIndexRequests: requirePositiveInteger('maxPendingReadIndexRequests', config.maxPendingReadIndexRequests ?? RAFT_DEFAULTS.maxPendingReadIndexRequests),
    preVote: config.preVote ?? RAFT_DEFAULTS.preVote,
    checkQuorum: config.checkQuorum ?? RAFT_DEFAULTS.checkQuorum,
    leaderAcksAfterPersist: config.leaderAcksAfterPersist ?? RAFT_DEFAULTS.leaderAcksAfterPersist,
    testingBugs: config.testingBugs ?? {},
  };
  if (resolved.heartbeatTicks >= resolved.electionTicks) {
    throw new RaftConfigError('electionTicks', `must be greater than heartbeatTicks (${resolved.heartbeatTicks}), got ${resolved.electionTicks}`);
  }
  if (resolved.maxInflightBytes !== 0 && resolved.maxInflightBytes < resolved.maxMessageBytes) {
    throw new RaftConfigError('maxInflightBytes', `must be 0 or at least maxMessageBytes (${resolved.maxMessageBytes})`);
  }
  return resolved;
}
