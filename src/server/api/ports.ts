/**
 * What the gRPC service adapters need from a member, declared here by the consumer (design
 * rule: narrow interfaces). The member (src/server/member.ts) implements it; tests of the
 * adapters may implement it in memory.
 */
import type { MvccStore, WatchableStore } from '../../mvcc/index.js';
import type { Lessor, TimeToLive } from '../lessor/index.js';
import type { RaftRequest } from '../../gen/conclave/internal_pb.js';
import type { CallIdentity } from '../auth/caller.js';
import type { AuthGate } from '../auth/gate.js';

/** The request part of a RaftRequest (everything but the id the member assigns). */
export type ProposalRequest = RaftRequest['request'];

export interface MemberInfo {
  readonly id: bigint;
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  readonly isLearner: boolean;
}

export interface AlarmInfo {
  readonly memberId: bigint;
  /** etcd's AlarmType: 1 NOSPACE, 2 CORRUPT. */
  readonly alarm: number;
}

export interface MemberStatusInfo {
  readonly memberId: bigint;
  readonly leader: bigint;
  readonly raftIndex: number;
  readonly raftTerm: number;
  readonly raftAppliedIndex: number;
  readonly dbSizeBytes: number;
  readonly dbSizeInUseBytes: number;
  readonly isLearner: boolean;
  readonly errors: readonly string[];
}

export interface ServerPort {
  readonly memberId: bigint;
  clusterId(): bigint;
  /** The current raft term (for response headers). */
  raftTerm(): number;
  /**
   * Optional, cheap (called per request): the leader this member knows (0n: none) and whether
   * it is a learner. With it the API applies etcd's request guards: `hasleader` metadata
   * needs a leader, and a learner serves only Status and serializable Range. Without it only
   * the `hasleader` guard runs, through status().
   */
  role?(): { readonly leader: bigint; readonly isLearner: boolean };

  /**
   * Proposes `request` through raft and resolves with what applying it produced on this
   * member: for put/deleteRange/txn/compaction the mvcc response op (an mvcc ApplyResult is
   * accepted too and unwrapped by the API), for a lease grant (ID 0: the member picks the id
   * before proposing, as etcd does) or revoke `{ id, ttlSeconds }` / `{ deleted }`, for
   * alarms the alarm list (AlarmInfo[], as etcd's applier answers each action). Rejects with an
   * EtcdRequestError (etcd's exact code and message) when the request fails, and with the
   * server errors of src/server/errors.ts when it cannot be committed (no leader, timeout,
   * stopped, too many requests). The entry is stamped with `caller`'s user and auth revision
   * (the applier re-checks writes with them); no caller means the member's own proposal.
   */
  propose(request: ProposalRequest, signal?: AbortSignal, caller?: CallIdentity): Promise<unknown>;

  /** Resolves once this member has applied everything committed when it was called (ReadIndex). */
  linearizableReadBarrier(signal?: AbortSignal): Promise<void>;

  readonly store: MvccStore;
  readonly watchable: WatchableStore;
  readonly lessor: Lessor;
  /** Authentication and permissions (absent: none, as for in-memory ports in tests). */
  readonly auth?: AuthGate;

  /** Renews a lease on the leader (forwarding from a follower); resolves with the TTL in seconds, or rejects "requested lease not found". */
  renewLease(id: bigint, signal?: AbortSignal): Promise<number>;
  /** TimeToLive as the leader knows it (forwarding from a follower). */
  leaseTimeToLive(id: bigint, withKeys: boolean, signal?: AbortSignal): Promise<TimeToLive>;

  members(): readonly MemberInfo[];
  addMember(peerUrls: readonly string[], isLearner: boolean, signal?: AbortSignal): Promise<MemberInfo>;
  removeMember(id: bigint, signal?: AbortSignal): Promise<void>;
  updateMember(id: bigint, peerUrls: readonly string[], signal?: AbortSignal, caller?: CallIdentity): Promise<void>;
  promoteMember(id: bigint, signal?: AbortSignal): Promise<void>;

  alarms(): readonly AlarmInfo[];
  status(): MemberStatusInfo;
  /** Hands leadership to `target` and resolves once it leads (MoveLeader). */
  moveLeader(target: bigint, signal?: AbortSignal): Promise<void>;
  /** A consistent snapshot of the backend as a byte stream (Maintenance.Snapshot). */
  backendSnapshot(): AsyncIterable<Uint8Array>;
  /** Compacts the backend's storage (Maintenance.Defragment). */
  defragment(): Promise<void>;
}
