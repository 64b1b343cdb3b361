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

/** Asks the member at `url` for its cluster state (the clusterInfo peer RPC); replaceable in tests. */
export type ClusterInfoFetch = (url: string) => Promise<ClusterState>;

const JOIN_QUERY_TIMEOUT_MS = 5000;

/**
 * A member joining an existing cluster (added with MemberAdd) asks the members named in
 * initialCluster for the cluster's id and member list, and finds its own id by its peer URLs.
 * Its log and state then arrive from the leader as a snapshot.
 *
 * Every listed peer is asked, not just the first that answers: a member re-added at the URL of
 * one just removed (chaos churn, or an operator replacing a machine) would otherwise take the
 * removed member's id from a peer that has not applied the remove and the add yet, and run
 * forever as a member nobody talks to. An id any answer lists as removed is never taken; among
 * the rest, the answers must agree on one.
 */
export async function discoverCluster(options: ResolvedMemberOptions, initial: Map<string, string[]>, fetchInfo: ClusterInfoFetch = (url) => fetchClusterInfo(url, options)): Promise<{ cluster: ClusterState; memberId: bigint }> {
  const mine = new Set(options.initialAdvertisePeerUrls);
  const urls = [...new Set([...initial.values()].flat())].filter((url) => !mine.has(url));
  const answers = await Promise.allSettled(urls.map((url) => fetchInfo(url)));
  const errors: string[] = [];
  const clusters: Array<{ readonly url: string; readonly cluster: ClusterState }> = [];
  answers.forEach((answer, i) => {
    if (answer.status === 'fulfilled') clusters.push({ url: urls[i]!, cluster: answer.value });
    else errors.push(`${urls[i]}: ${(answer.reason as Error).message}`);
  });
  if (clusters.length === 0) throw new ConclaveError('ERR_JOIN_FAILED', `could not reach any member of the cluster to join: ${errors.join('; ')}`);
  const removed = new Set(clusters.flatMap(({ cluster }) => [...cluster.removed]));
  const candidates = new Map<bigint, ClusterState>();
  for (const { cluster } of clusters) {
    for (const m of cluster.members.values()) {
      if (m.peerUrls.some((u) => mine.has(u)) && !removed.has(m.id) && !candidates.has(m.id)) candidates.set(m.id, cluster);
    }
  }
  if (candidates.size === 0) {
    throw new ConclaveError('ERR_NOT_ADDED', `the cluster at ${clusters.map((c) => c.url).join(',')} has no member with peer URLs ${[...mine].join(',')}: add it with MemberAdd first`);
  }
  if (candidates.size > 1) {
    throw new ConclaveError('ERR_JOIN_FAILED', `the members disagree on this member's id (${[...candidates.keys()].map((id) => id.toString(16)).join(', ')} at ${[...mine].join(',')}); retry once the cluster has settled`);
  }
  const [[memberId, cluster]] = [...candidates] as [[bigint, ClusterState]];
  return { cluster, memberId };
}

function fetchClusterInfo(url: string, options: ResolvedMemberOptions): Promise<ClusterState> {
  return NetworkPeerTransport.callUrl<unknown>(url, 'clusterInfo', {}, JOIN_QUERY_TIMEOUT_MS, options.peerTls)
    .then((info) => ClusterState.decode(toBinary(ClusterStateSchema, info as never)));
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
