import { toBinary } from '@bufbuild/protobuf';
import { ConclaveError } from '../base/errors.js';
import { ClusterStateSchema } from '../gen/conclave/internal_pb.js';
import { bootstrapState } from '../raft/index.js';
import { MemoryBackend, writeSnapshot } from '../storage/backend/index.js';
import type { DiskStorage } from '../storage/index.js';
import type { MemberInfo } from './api/ports.js';
import { CLUSTER_STATE_KEY, ClusterState } from './cluster-state.js';
import { computeClusterId, computeMemberId } from './ids.js';
import type { ResolvedMemberOptions } from './member-options.js';
import { NetworkPeerTransport } from './peer/network-peer-transport.js';

/**
 * The first start of a member of a new cluster: the bootstrap snapshot holds the initial
 * membership (identical on every initial member: their bootstrap states must match byte for
 * byte; each member publishes its client URLs through raft once it runs).
 */
export async function bootstrapNewCluster(storage: DiskStorage, options: ResolvedMemberOptions, memberId: bigint, initial: Map<string, string[]>): Promise<void> {
  const members: MemberInfo[] = [...initial].map(([name, peerUrls]) => ({
    id: computeMemberId(peerUrls, options.initialClusterToken),
    name,
    peerUrls,
    clientUrls: [],
    isLearner: false,
  }));
  if (!members.some((m) => m.id === memberId)) {
    throw new ConclaveError('ERR_NOT_IN_INITIAL_CLUSTER', `this member's peer URLs (${options.initialAdvertisePeerUrls.join(',')}) are not in initialCluster (${options.initialCluster})`);
  }
  const cluster = new ClusterState(computeClusterId(members.map((m) => m.id)));
  for (const m of members) cluster.members.set(m.id, m);
  const backend = new MemoryBackend();
  backend.write([{ bucket: 'meta', key: CLUSTER_STATE_KEY, value: cluster.encode() }]);
  const { snapshot, hardState } = bootstrapState(members.map((m) => m.id));
  const data = concatBytes([...writeSnapshot(backend)]);
  await storage.save({ snapshot: { ...snapshot, data }, hardState });
}

/**
 * A member joining an existing cluster (added with MemberAdd) asks the members named in
 * initialCluster for the cluster's id and member list; it finds its own id by its peer URLs.
 * Its log and state then arrive from the leader as a snapshot.
 */
export async function discoverCluster(options: ResolvedMemberOptions, initial: Map<string, string[]>): Promise<{ cluster: ClusterState; memberId: bigint }> {
  const mine = new Set(options.initialAdvertisePeerUrls);
  const errors: string[] = [];
  for (const urls of initial.values()) {
    for (const url of urls) {
      if (mine.has(url)) continue;
      try {
        const info = await NetworkPeerTransport.callUrl<unknown>(url, 'clusterInfo', {}, 5000, options.peerTls);
        const cluster = ClusterState.decode(toBinary(ClusterStateSchema, info as never));
        const me = [...cluster.members.values()].find((m) => m.peerUrls.some((u) => mine.has(u)));
        if (me === undefined) throw new ConclaveError('ERR_NOT_ADDED', `the cluster at ${url} has no member with peer URLs ${[...mine].join(',')}: add it with MemberAdd first`);
        return { cluster, memberId: me.id };
      } catch (error) {
        if (ConclaveError.is(error) && error.code === 'ERR_NOT_ADDED') throw error;
        errors.push(`${url}: ${(error as Error).message}`);
      }
    }
  }
  throw new ConclaveError('ERR_JOIN_FAILED', `could not reach any member of the cluster to join: ${errors.join('; ')}`);
}

export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  const total = chunks.reduce((sum, c) => sum + c.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}
