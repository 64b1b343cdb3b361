import type { PutRequest, RequestOp, TxnRequest } from '../gen/etcdserverpb/rpc_pb.js';
import type { ProposalRequest } from './api/ports.js';

/** etcd's estimate of what one stored key costs beyond its key and value bytes (kvOverhead). */
export const KV_OVERHEAD_BYTES = 256;
/** etcd's estimate for one lease record (leaseOverhead). */
export const LEASE_OVERHEAD_BYTES = 64;

/** What the quota needs of the member (declared by the consumer). */
export interface QuotaTarget {
  /** Bytes the backend holds now, including writes not yet committed to disk. */
  backendBytes(): number;
}

/**
 * The backend quota (`--quota-backend-bytes`), checked as etcd checks it: before a put, txn or
 * lease grant is proposed, the backend's current size plus the request's estimated cost must
 * stay below the quota; otherwise the member raises the NOSPACE alarm (through raft) and
 * answers "etcdserver: mvcc: database space exceeded". Other requests are not charged
 * (deletes, compactions and alarm disarms are how an operator gets out).
 */
export class BackendQuota {
  constructor(private readonly target: QuotaTarget, readonly quotaBytes: number) {}

  /** Whether `request` fits; requests the quota does not charge always fit. */
  allows(request: ProposalRequest): boolean {
    const cost = requestCost(request);
    if (cost === undefined) return true;
    return this.target.backendBytes() + cost < this.quotaBytes;
  }
}

/** etcd's cost of a request, or undefined for the kinds the quota does not check. */
export function requestCost(request: ProposalRequest): number | undefined {
  switch (request.case) {
    case 'put':
      return putCost(request.value);
    case 'txn':
      return txnCost(request.value);
    case 'leaseGrant':
      // etcd charges the marshalled request (about 20 bytes) plus the overhead.
      return 20 + LEASE_OVERHEAD_BYTES;
    default:
      return undefined;
  }
}

function putCost(put: PutRequest): number {
  return KV_OVERHEAD_BYTES + put.key.byteLength + put.value.byteLength;
}

/** The more expensive branch (only one of them runs), nested txns included. */
function txnCost(txn: TxnRequest): number {
  return Math.max(opsCost(txn.success), opsCost(txn.failure));
}

function opsCost(ops: readonly RequestOp[]): number {
  let cost = 0;
  for (const op of ops) {
    if (op.request.case === 'requestPut') cost += putCost(op.request.value);
    else if (op.request.case === 'requestTxn') cost += txnCost(op.request.value);
  }
  return cost;
}
