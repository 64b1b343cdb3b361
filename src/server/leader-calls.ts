import { fromBinary } from '@bufbuild/protobuf';
import { ClusterStateSchema } from '../gen/conclave/internal_pb.js';
import { LeaseNotFoundError } from '../mvcc/index.js';
import type { Lessor, TimeToLive } from './lessor/index.js';
import type { MemberInfo } from './api/ports.js';
import type { ClusterState } from './cluster-state.js';
import { ServerError, serverError } from './errors.js';
import type { PeerTransport } from './transport.js';

/** What leader-only calls need from the member (declared by the consumer). */
export interface LeaderCallsTarget {
  transport(): PeerTransport;
  readonly requestTimeoutMs: number;
  lessor(): Lessor;
  cluster(): ClusterState;
  isLeader(): boolean;
  /** Whether every committed entry is applied on this member. */
  caughtUp(): boolean;
  /** Waits for a ReadIndex round (everything committed before the call applied here). */
  readBarrier(): Promise<void>;
  currentLeader(signal?: AbortSignal): Promise<bigint>;
  promoteOnLeader(id: bigint, signal?: AbortSignal): Promise<void>;
  addOnLeader(peerUrls: readonly string[], isLearner: boolean, signal?: AbortSignal): Promise<MemberInfo>;
}

/**
 * A forwarded membership call waits this much longer than the leader's own request timeout, so
 * the leader's answer (its "request timed out" included) comes back rather than a deadline error.
 */
export const FORWARD_MARGIN_MS = 1000;

/**
 * Calls only the leader can answer: lease keep-alives and TimeToLive (lease expiry is tracked
 * by the leader alone), learner promotion (checked against the leader's view of the learner's
 * log) and member addition (checked against the leader's applied cluster state). A follower
 * forwards them over the peer transport; the leader answers them through peerHandlers().
 */
export class LeaderCalls {
  constructor(private readonly target: LeaderCallsTarget) {}

  async renewLease(id: bigint): Promise<number> {
    if (this.target.isLeader()) return this.renewOnLeader(id);
    const leader = await this.target.currentLeader();
    const response = await this.forward<{ TTL: bigint }>(leader, 'leaseRenew', { ID: id });
    if (response.TTL <= 0n) throw serverError('leaseNotFound');
    return Number(response.TTL);
  }

  async leaseTimeToLive(id: bigint, withKeys: boolean): Promise<TimeToLive> {
    if (this.target.isLeader()) return this.target.lessor().timeToLive(id, withKeys);
    const leader = await this.target.currentLeader();
    const response = await this.forward<{ ID: bigint; TTL: bigint; grantedTTL: bigint; keys: Uint8Array[] }>(leader, 'leaseTimeToLive', { ID: id, keys: withKeys });
    return { id: response.ID, ttlSeconds: Number(response.TTL), grantedTtlSeconds: Number(response.grantedTTL), keys: response.keys };
  }

  async promoteMember(id: bigint, signal?: AbortSignal): Promise<void> {
    if (this.target.isLeader()) return this.target.promoteOnLeader(id, signal);
    await this.forwardMembership(signal, 'memberPromote', { ID: id });
  }

  /**
   * Forwarded to the leader, which alone checks it against a complete cluster state (issue 15).
   * Once added, this member waits to apply the add too (as etcd's MemberAdd waits on the
   * member it reached), so the member list it answers with names the new member; the add stands
   * whether or not that wait succeeds.
   */
  async addMember(peerUrls: readonly string[], isLearner: boolean, signal?: AbortSignal): Promise<MemberInfo> {
    if (this.target.isLeader()) return this.target.addOnLeader(peerUrls, isLearner, signal);
    const response = await this.forwardMembership<{ member?: { ID: bigint; name: string; peerURLs: string[]; clientURLs: string[]; isLearner: boolean } }>(signal, 'memberAdd', { peerURLs: [...peerUrls], isLearner });
    const added = response.member;
    if (added === undefined) throw serverError('leaderChanged');
    await this.target.readBarrier().catch(() => undefined);
    return { id: added.ID, name: added.name, peerUrls: added.peerURLs, clientUrls: added.clientURLs, isLearner: added.isLearner };
  }

  /** Calls `method` on the leader; etcd's errors from the leader are passed on as they came. */
  private async forwardMembership<T>(signal: AbortSignal | undefined, method: string, request: unknown): Promise<T> {
    const leader = await this.target.currentLeader(signal);
    const transport = this.target.transport();
    if (transport.call === undefined) throw serverError('notLeader');
    try {
      return await transport.call<T>(leader, method, request, this.target.requestTimeoutMs + FORWARD_MARGIN_MS);
    } catch (error) {
      const e = error as { code?: number; details?: string };
      if (e.details?.startsWith('etcdserver: ') === true) throw new ServerError('ERR_FORWARDED', e.code ?? 2, e.details);
      throw serverError('leaderChanged', error);
    }
  }

  /** The peer RPCs this member answers for its peers (see proto/conclave/peer.proto). */
  peerHandlers(): Record<string, (request: never) => Promise<unknown>> {
    return {
      leaseRenew: async (request: { ID: bigint }) => {
        if (!this.target.isLeader()) throw serverError('notLeader');
        return { ID: request.ID, TTL: BigInt(await this.renewOnLeader(request.ID)) };
      },
      leaseTimeToLive: async (request: { ID: bigint; keys: boolean }) => {
        if (!this.target.isLeader()) throw serverError('notLeader');
        const ttl = this.target.lessor().timeToLive(request.ID, request.keys);
        return { ID: ttl.id, TTL: BigInt(ttl.ttlSeconds), grantedTTL: BigInt(ttl.grantedTtlSeconds), keys: ttl.keys };
      },
      memberPromote: async (request: { ID: bigint }) => {
        await this.target.promoteOnLeader(request.ID);
        return { members: [] };
      },
      memberAdd: async (request: { peerURLs: string[]; isLearner: boolean }) => {
        const added = await this.target.addOnLeader(request.peerURLs, request.isLearner);
        return { member: { ID: added.id, name: added.name, peerURLs: [...added.peerUrls], clientURLs: [...added.clientUrls], isLearner: added.isLearner }, members: [] };
      },
      clusterInfo: async () => fromBinary(ClusterStateSchema, this.target.cluster().encode()),
    };
  }

  /**
   * Renews on the leader. A lease granted through a follower is answered once the follower
   * applied it, so its first keep-alive can reach the leader before the leader applied the
   * grant: "not found" while committed entries wait to be applied is retried once they are
   * (etcd's leader waits for its applied index in LeaseRenew the same way).
   */
  private async renewOnLeader(id: bigint): Promise<number> {
    try {
      return this.target.lessor().renew(id);
    } catch (error) {
      if (!(error instanceof LeaseNotFoundError) || this.target.caughtUp()) throw error;
      await this.target.readBarrier();
      return this.target.lessor().renew(id);
    }
  }

  private async forward<T>(leader: bigint, method: string, request: unknown): Promise<T> {
    const transport = this.target.transport();
    if (transport.call === undefined) throw serverError('notLeader');
    try {
      return await transport.call<T>(leader, method, request, this.target.requestTimeoutMs);
    } catch (error) {
      const details = (error as { details?: string }).details;
      if (details === 'etcdserver: requested lease not found') throw serverError('leaseNotFound');
      throw serverError('leaderChanged', error);
    }
  }
}
