/**
 * The KV service: Range (linearizable by default: read barrier, then the local store;
 * serializable reads are local at once), Put, DeleteRange, Txn (read-only txns are served
 * like ranges, others are proposed) and Compact. Requests are checked (empty key, txn rules)
 * before anything else, as etcd checks them at its API layer.
 */
import { create } from '@bufbuild/protobuf';
import { CompactionResponseSchema, KV } from '../../gen/etcdserverpb/rpc_pb.js';
import type * as pb from '../../gen/etcdserverpb/rpc_pb.js';
import { validateRequest } from '../../mvcc/index.js';
import {
  deleteRangeRequestFromPb, deleteRangeResponseToPb, putRequestFromPb, putResponseToPb, rangeRequestFromPb,
  rangeResponseToPb, txnRequestFromPb, txnResponseToPb,
} from './convert.js';
import { responseHeader } from './header.js';
import type { ServerPort } from './ports.js';
import { proposeKv, propose } from './proposal.js';
import { isReadOnlyTxn, isSerializableTxn, runReadOnlyTxn } from './read-txn.js';
import { bindService, type ServiceBinding } from './service-definition.js';
import { unary } from './unary.js';

export interface ApiLimits {
  readonly maxRequestBytes: number;
}

export function kvService(port: ServerPort, limits: ApiLimits): ServiceBinding {
  const maxTxnOps = port.store.maxTxnOps;
  return bindService(KV, {
    range: unary<pb.RangeRequest, pb.RangeResponse>(async (req, context) => {
      const range = rangeRequestFromPb(req);
      validateRequest({ range }, maxTxnOps);
      if (!req.serializable) await port.linearizableReadBarrier(context.signal);
      const out = rangeResponseToPb(port.store.range(range));
      out.header = responseHeader(port, Number(out.header!.revision));
      return out;
    }),

    put: unary<pb.PutRequest, pb.PutResponse>(async (req, { signal, caller }) => {
      validateRequest({ put: putRequestFromPb(req) }, maxTxnOps);
      const op = await proposeKv(port, { case: 'put', value: req }, { ...limits, signal, caller });
      if (!('put' in op)) throw new Error('put proposal answered with another response');
      const out = putResponseToPb(op.put);
      out.header = responseHeader(port, op.put.revision);
      return out;
    }),

    deleteRange: unary<pb.DeleteRangeRequest, pb.DeleteRangeResponse>(async (req, { signal, caller }) => {
      validateRequest({ deleteRange: deleteRangeRequestFromPb(req) }, maxTxnOps);
      const op = await proposeKv(port, { case: 'deleteRange', value: req }, { ...limits, signal, caller });
      if (!('deleteRange' in op)) throw new Error('deleteRange proposal answered with another response');
      const out = deleteRangeResponseToPb(op.deleteRange);
      out.header = responseHeader(port, op.deleteRange.revision);
      return out;
    }),

    txn: unary<pb.TxnRequest, pb.TxnResponse>(async (req, { signal, caller }) => {
      const txn = txnRequestFromPb(req);
      validateRequest({ txn }, maxTxnOps);
      let result;
      if (isReadOnlyTxn(req)) {
        if (!isSerializableTxn(req)) await port.linearizableReadBarrier(signal);
        result = runReadOnlyTxn(port.store, txn);
      } else {
        const op = await proposeKv(port, { case: 'txn', value: req }, { ...limits, signal, caller });
        if (!('txn' in op)) throw new Error('txn proposal answered with another response');
        result = op.txn;
      }
      const out = txnResponseToPb(result);
      out.header = responseHeader(port, result.revision);
      return out;
    }),

    compact: unary<pb.CompactionRequest, pb.CompactionResponse>(async (req, { signal, caller }) => {
      await propose(port, { case: 'compaction', value: req }, { ...limits, signal, caller });
      return create(CompactionResponseSchema, { header: responseHeader(port) });
    }),
  });
}
