/**
 * Read-only txns served without raft (as etcd serves them after the read barrier, or at once
 * when every range is serializable): the compares and the taken branch's ranges run against
 * the store's current state; nothing is written, so no revision moves.
 */
import { evaluateCompare } from '../../mvcc/index.js';
import type { MvccStore } from '../../mvcc/index.js';
import type * as mvcc from '../../mvcc/types.js';
import type * as pb from '../../gen/etcdserverpb/rpc_pb.js';

/** True when every op of both branches (nested txns included) is a range. */
export function isReadOnlyTxn(req: pb.TxnRequest): boolean {
  const readOnly = (op: pb.RequestOp): boolean =>
    op.request.case === 'requestRange' || (op.request.case === 'requestTxn' && isReadOnlyTxn(op.request.value));
  return req.success.every(readOnly) && req.failure.every(readOnly);
}

/** True when every range of both branches asked for a serializable read (nested txns included). */
export function isSerializableTxn(req: pb.TxnRequest): boolean {
  const serializable = (op: pb.RequestOp): boolean =>
    (op.request.case === 'requestRange' && op.request.value.serializable) || (op.request.case === 'requestTxn' && isSerializableTxn(op.request.value));
  return req.success.every(serializable) && req.failure.every(serializable);
}

/** Runs a read-only txn (checked by isReadOnlyTxn and mvcc's validateRequest) on the store. */
export function runReadOnlyTxn(store: MvccStore, req: mvcc.TxnRequest): mvcc.TxnResponse {
  const succeeded = (req.compare ?? []).every((c) => evaluateCompare(c, store.range({ key: c.key, ...(c.rangeEnd === undefined ? {} : { rangeEnd: c.rangeEnd }) }).kvs));
  const ops = (succeeded ? req.success : req.failure) ?? [];
  const responses: mvcc.ResponseOp[] = ops.map((op) => {
    if ('range' in op) return { range: store.range(op.range) };
    if ('txn' in op) return { txn: runReadOnlyTxn(store, op.txn) };
    throw new Error('runReadOnlyTxn called with a write op');
  });
  return { revision: store.currentRevision, succeeded, responses };
}
