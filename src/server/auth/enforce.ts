/**
 * Which permission each RPC needs, as etcd 3.4 decides it (observed against 3.4.23), with
 * the later CVE fixes where 3.4.23 leaks:
 * - at the API, before serving: Range and read-only Txn (read on every compare and range),
 *   Maintenance Snapshot/Defragment/Hash/HashKV and member changes (root role),
 *   lock and election reads of their prefix, LeaseTimeToLive with keys (read on each key:
 *   CVE-2023-32082, unchecked in 3.4.23);
 * - at apply, for what goes through raft: Put (write; read too with prev_kv; write on every
 *   key of the lease it attaches), DeleteRange (write; read with prev_kv), write Txns (every
 *   compare and op, nested, including prev_kv and lease attachment inside the txn:
 *   GHSA-x35m-3gp4-4fh5), LeaseRevoke (write on every attached key), auth changes (root).
 * Left open as in etcd: Status, MemberList, MoveLeader, Alarm, LeaseGrant, LeaseKeepAlive, Compact
 * (etcd 3.4 reads no token at all for Status, MemberList, MoveLeader and keep-alives).
 */
import type * as pb from '../../gen/etcdserverpb/rpc_pb.js';
import type { RaftRequest } from '../../gen/conclave/internal_pb.js';
import { validateRequest } from '../../mvcc/index.js';
import { rangeRequestFromPb, txnRequestFromPb } from '../api/convert.js';
import { isReadOnlyTxn } from '../api/read-txn.js';
import type { ServerError } from '../errors.js';
import { maintenanceAuthError } from './errors.js';
import type { CallIdentity } from './caller.js';
import type { AuthGate } from './gate.js';
import type { AuthInfo, AuthStore } from './store.js';

const EMPTY = new Uint8Array(0);

const MAINTENANCE_ADMIN = new Set([
  '/etcdserverpb.Maintenance/Snapshot', '/etcdserverpb.Maintenance/Defragment', '/etcdserverpb.Maintenance/Hash',
  '/etcdserverpb.Maintenance/HashKV',
]);
const CLUSTER_ADMIN = new Set([
  '/etcdserverpb.Cluster/MemberAdd', '/etcdserverpb.Cluster/MemberRemove', '/etcdserverpb.Cluster/MemberUpdate', '/etcdserverpb.Cluster/MemberPromote',
]);
const RECIPE_READS = new Set([
  '/v3lockpb.Lock/Lock', '/v3electionpb.Election/Campaign', '/v3electionpb.Election/Proclaim', '/v3electionpb.Election/Leader',
  '/v3electionpb.Election/Observe', '/v3electionpb.Election/Resign',
]);

function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = Uint8Array.from(prefix);
  for (let i = end.length - 1; i >= 0; i -= 1) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return new Uint8Array([0]);
}

function recipePrefix(request: unknown): Uint8Array | undefined {
  const r = request as { name?: Uint8Array; leader?: { name?: Uint8Array } } | undefined;
  const name = r?.name ?? r?.leader?.name;
  if (name === undefined || name.length === 0) return undefined;
  const out = new Uint8Array(name.length + 1);
  out.set(name);
  out[name.length] = 0x2f; // '/'
  return out;
}

/** True when etcd's own request validation would refuse it first (validation runs before auth). */
function invalid(check: () => void): boolean {
  try {
    check();
    return false;
  } catch {
    return true;
  }
}

/** The API-time decision for one call by `caller`; throws etcd's error. */
export function authorizeCall(gate: AuthGate, caller: CallIdentity, path: string, request: unknown, maxTxnOps: number): void {
  if (!gate.enabled) return;
  switch (path) {
    case '/etcdserverpb.KV/Range': {
      const req = request as pb.RangeRequest;
      if (invalid(() => validateRequest({ range: rangeRequestFromPb(req) }, maxTxnOps))) return;
      gate.checkRead(caller, req.key, req.rangeEnd);
      return;
    }
    case '/etcdserverpb.KV/Txn': {
      const req = request as pb.TxnRequest;
      if (!isReadOnlyTxn(req) || invalid(() => validateRequest({ txn: txnRequestFromPb(req) }, maxTxnOps))) return;
      checkTxn(gate.store, caller.info ?? { username: '', revision: 0n }, req, () => []);
      return;
    }
    default:
      break;
  }
  if (MAINTENANCE_ADMIN.has(path)) {
    try {
      gate.checkAdmin(caller);
    } catch (error) {
      throw maintenanceAuthError(error as ServerError);
    }
    return;
  }
  if (CLUSTER_ADMIN.has(path)) {
    gate.checkAdmin(caller);
    return;
  }
  if (RECIPE_READS.has(path)) {
    const prefix = recipePrefix(request);
    if (prefix !== undefined) gate.checkRead(caller, prefix, prefixEnd(prefix));
  }
}

/** CVE-2023-32082: listing a lease's keys needs read permission on each of them. */
export function authorizeLeaseKeys(gate: AuthGate, caller: CallIdentity | undefined, keys: readonly Uint8Array[]): void {
  if (!gate.enabled) return;
  for (const key of keys) gate.checkRead(caller, key, EMPTY);
}

type LeaseKeys = (leaseId: bigint) => readonly Uint8Array[];

function checkPut(store: AuthStore, info: AuthInfo, put: pb.PutRequest, leaseKeys: LeaseKeys): void {
  store.checkKeys(info, put.key, EMPTY, 'write');
  // A lease whose keys the user cannot write is one it could not revoke: attaching to it is refused.
  if (put.lease !== 0n) for (const key of leaseKeys(put.lease)) store.checkKeys(info, key, EMPTY, 'write');
  if (put.prevKv) store.checkKeys(info, put.key, EMPTY, 'read');
}

function checkDelete(store: AuthStore, info: AuthInfo, del: pb.DeleteRangeRequest): void {
  if (del.prevKv) store.checkKeys(info, del.key, del.rangeEnd, 'read');
  store.checkKeys(info, del.key, del.rangeEnd, 'write');
}

function checkTxn(store: AuthStore, info: AuthInfo, txn: pb.TxnRequest, leaseKeys: LeaseKeys): void {
  for (const compare of txn.compare) store.checkKeys(info, compare.key, compare.rangeEnd, 'read');
  for (const op of [...txn.success, ...txn.failure]) {
    const r = op.request;
    if (r.case === 'requestRange') store.checkKeys(info, r.value.key, r.value.rangeEnd, 'read');
    else if (r.case === 'requestPut') checkPut(store, info, r.value, leaseKeys);
    else if (r.case === 'requestDeleteRange') checkDelete(store, info, r.value);
    else if (r.case === 'requestTxn') checkTxn(store, info, r.value, leaseKeys);
  }
}

/** The apply-time decision for a KV write or lease revoke proposed by `info`; throws etcd's error. */
export function checkAtApply(store: AuthStore, info: AuthInfo, request: RaftRequest['request'], leaseKeys: LeaseKeys): void {
  if (!store.enabled) return;
  switch (request.case) {
    case 'put':
      checkPut(store, info, request.value, leaseKeys);
      return;
    case 'deleteRange':
      checkDelete(store, info, request.value);
      return;
    case 'txn':
      checkTxn(store, info, request.value, leaseKeys);
      return;
    case 'leaseRevoke':
      for (const key of leaseKeys(request.value.ID)) store.checkKeys(info, key, EMPTY, 'write');
      return;
    default:
      return;
  }
}
