/**
 * Response headers as etcd fills them: cluster id, member id and raft term of the member
 * that answers, and the revision the operation produced or read (the current store revision
 * when the operation has none of its own, as etcd's header filler does for revision 0).
 */
import { create } from '@bufbuild/protobuf';
import { ResponseHeaderSchema } from '../../gen/etcdserverpb/rpc_pb.js';
import type { ResponseHeader } from '../../gen/etcdserverpb/rpc_pb.js';
import type { ServerPort } from './ports.js';

interface CachedHeader {
  readonly revision: number;
  readonly term: number;
  readonly clusterId: bigint;
  readonly header: ResponseHeader;
}

/** The last header built per member: most responses in a row share revision and term. */
const lastHeaders = new WeakMap<ServerPort, CachedHeader>();

/**
 * The header for a response at `revision` (0 or none: the current revision). Built once per
 * (revision, term) and shared by every response until either moves, so a call pays no bigint
 * conversion or message creation: a returned header must never be mutated (copy it instead).
 */
export function responseHeader(port: ServerPort, revision?: number): ResponseHeader {
  const rev = revision === undefined || revision === 0 ? port.store.currentRevision : revision;
  const term = port.raftTerm();
  const clusterId = port.clusterId();
  const cached = lastHeaders.get(port);
  if (cached !== undefined && cached.revision === rev && cached.term === term && cached.clusterId === clusterId) return cached.header;
  const header = create(ResponseHeaderSchema, {
    clusterId,
    memberId: port.memberId,
    revision: BigInt(rev),
    raftTerm: BigInt(term),
  });
  lastHeaders.set(port, { revision: rev, term, clusterId, header });
  return header;
}

/** Completes a header that already carries a revision (e.g. from a converted mvcc response). */
export function fillHeader(port: ServerPort, header: ResponseHeader | undefined): ResponseHeader {
  return responseHeader(port, header === undefined ? undefined : Number(header.revision));
}

/** The Cluster service's header: etcd fills it without a revision (membership is not in the key space). */
export function clusterHeader(port: ServerPort): ResponseHeader {
  return create(ResponseHeaderSchema, { clusterId: port.clusterId(), memberId: port.memberId, raftTerm: BigInt(port.raftTerm()) });
}
