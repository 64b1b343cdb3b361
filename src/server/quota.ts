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
  /** What an entry of these sizes takes in the engine's file once committed (see Backend.storedBytes). */
  storedBytes(keyBytes: number, valueBytes: number): number;
}

/** A revision key in the key bucket (mvcc's 17-byte main/sub revision) and the KeyValue framing around key and value. */
const REVISION_KEY_BYTES = 17;
const KEY_VALUE_FRAMING_BYTES = 32;

/**
 * The backend quota (`--quota-backend-bytes`), checked as etcd checks it: before a put, txn or
 * lease grant is proposed, the backend's current size plus the request's estimated cost must
 * stay below the quota; otherwise the member raises the NOSPACE alarm (through raft) and
 * answers "etcdserver: mvcc: database space exceeded". Other requests are not charged
 * (deletes, compactions and alarm disarms are how an operator gets out).
 */
export class BackendQuota {
  /** What the engine stores for a put of these key and value sizes (built once: allows() runs on every write). */
  private readonly storedPutBytes: StoredPutBytes;

  constructor(private readonly target: QuotaTarget, readonly quotaBytes: number) {
    this.storedPutBytes = (k, v) => target.storedBytes(REVISION_KEY_BYTES, k + v + KEY_VALUE_FRAMING_BYTES);
  }

  /** Whether `request` fits; requests the quota does not charge always fit. */
  allows(request: ProposalRequest): boolean {
    const cost = requestCost(request, this.storedPutBytes);
    if (cost === undefined) return true;
    return this.target.backendBytes() + cost < this.quotaBytes;
  }
}

/**
 * etcd's cost of a request, or undefined for the kinds the quota does not check. A put costs
 * etcd's estimate or, when larger, what the engine will store for it (`storedPutBytes`: an 8 KB
 * value takes three 4 KiB pages in lmdb), so a put the check lets in cannot take the size past
 * the quota.
 */
export function requestCost(request: ProposalRequest, storedPutBytes: StoredPutBytes = () => 0): number | undefined {
  switch (request.case) {
    case 'put':
      return putCost(request.value, storedPutBytes);
    case 'txn':
      return txnCost(request.value, storedPutBytes);
    case 'leaseGrant':
      // etcd charges the marshalled request (about 20 bytes) plus the overhead.
      return 20 + LEASE_OVERHEAD_BYTES;
    default:
      return undefined;
  }
}

type StoredPutBytes = (keyBytes: number, valueBytes: number) => number;

function putCost(put: PutRequest, stored: StoredPutBytes): number {
  return Math.max(KV_OVERHEAD_BYTES + put.key.byteLength + put.value.byteLength, stored(put.key.byteLength, put.value.byteLength));
}

/** The more expensive branch (only one of them runs), nested txns included. */
function txnCost(txn: TxnRequest, stored: StoredPutBytes): number {
  return Math.max(opsCost(txn.success, stored), opsCost(txn.failure, stored));
}

function opsCost(ops: readonly RequestOp[], stored: StoredPutBytes): number {
  let cost = 0;
  for (const op of ops) {
    if (op.request.case === 'requestPut') cost += putCost(op.request.value, stored);
    else if (op.request.case === 'requestTxn') cost += txnCost(op.request.value, stored);
  }
  return cost;
}
