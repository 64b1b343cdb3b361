/**
 * Pure conversions between the generated protobuf-es messages (bigint 64-bit fields, oneof
 * unions) and the mvcc request/response types (numbers for revisions, bigint lease ids).
 * Used by the gRPC adapters and by the member's applier (which applies the same protobuf
 * requests that were proposed), so there is exactly one mapping.
 */
import { create } from '@bufbuild/protobuf';
import {
  Compare_CompareResult, Compare_CompareTarget, DeleteRangeResponseSchema, PutResponseSchema, RangeRequest_SortOrder,
  RangeRequest_SortTarget, RangeResponseSchema, ResponseHeaderSchema, ResponseOpSchema, TxnResponseSchema,
} from '../../gen/etcdserverpb/rpc_pb.js';
import type * as pb from '../../gen/etcdserverpb/rpc_pb.js';
import { Event_EventType, EventSchema, KeyValueSchema } from '../../gen/mvccpb/kv_pb.js';
import type * as kvpb from '../../gen/mvccpb/kv_pb.js';
import { InvalidSortOptionError, KeyNotFoundError } from '../../mvcc/errors.js';
import type * as mvcc from '../../mvcc/types.js';

/**
 * A wire revision (int64) as a number. Values beyond the safe range are clamped: such a
 * revision is in the future for any store, so the store answers with etcd's future-revision
 * error rather than us inventing a new one.
 */
export function revisionFromWire(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
  if (value < BigInt(Number.MIN_SAFE_INTEGER)) return Number.MIN_SAFE_INTEGER;
  return Number(value);
}

const SORT_ORDERS: Record<number, mvcc.SortOrder> = {
  [RangeRequest_SortOrder.NONE]: 'none',
  [RangeRequest_SortOrder.ASCEND]: 'ascend',
  [RangeRequest_SortOrder.DESCEND]: 'descend',
};
const SORT_TARGETS: Record<number, mvcc.SortTarget> = {
  [RangeRequest_SortTarget.KEY]: 'key',
  [RangeRequest_SortTarget.VERSION]: 'version',
  [RangeRequest_SortTarget.CREATE]: 'create',
  [RangeRequest_SortTarget.MOD]: 'mod',
  [RangeRequest_SortTarget.VALUE]: 'value',
};
const COMPARE_RESULTS: Record<number, mvcc.CompareResult> = {
  [Compare_CompareResult.EQUAL]: 'equal',
  [Compare_CompareResult.GREATER]: 'greater',
  [Compare_CompareResult.LESS]: 'less',
  [Compare_CompareResult.NOT_EQUAL]: 'not_equal',
};

// ---- requests: protobuf -> mvcc ----

export function rangeRequestFromPb(req: pb.RangeRequest): mvcc.RangeRequest {
  const sortOrder = SORT_ORDERS[req.sortOrder];
  const sortTarget = SORT_TARGETS[req.sortTarget];
  if (sortOrder === undefined || sortTarget === undefined) throw new InvalidSortOptionError();
  return {
    key: req.key,
    rangeEnd: req.rangeEnd,
    limit: revisionFromWire(req.limit),
    revision: revisionFromWire(req.revision),
    // etcd: a non-key target with no order means ascending.
    sortOrder: sortOrder === 'none' && sortTarget !== 'key' ? 'ascend' : sortOrder,
    sortTarget,
    keysOnly: req.keysOnly,
    countOnly: req.countOnly,
    minModRevision: revisionFromWire(req.minModRevision),
    maxModRevision: revisionFromWire(req.maxModRevision),
    minCreateRevision: revisionFromWire(req.minCreateRevision),
    maxCreateRevision: revisionFromWire(req.maxCreateRevision),
  };
}

export function putRequestFromPb(req: pb.PutRequest): mvcc.PutRequest {
  return { key: req.key, value: req.value, lease: req.lease, prevKv: req.prevKv, ignoreValue: req.ignoreValue, ignoreLease: req.ignoreLease };
}

export function deleteRangeRequestFromPb(req: pb.DeleteRangeRequest): mvcc.DeleteRangeRequest {
  return { key: req.key, rangeEnd: req.rangeEnd, prevKv: req.prevKv };
}

/** A compare; a union value that does not match the target counts as that target's zero (as in etcd). */
export function compareFromPb(c: pb.Compare): mvcc.Compare {
  const result = COMPARE_RESULTS[c.result] ?? 'equal';
  const base = { key: c.key, rangeEnd: c.rangeEnd, result };
  const u = c.targetUnion;
  switch (c.target) {
    case Compare_CompareTarget.VERSION:
      return { ...base, target: 'version', version: u.case === 'version' ? revisionFromWire(u.value) : 0 };
    case Compare_CompareTarget.CREATE:
      return { ...base, target: 'create', createRevision: u.case === 'createRevision' ? revisionFromWire(u.value) : 0 };
    case Compare_CompareTarget.MOD:
      return { ...base, target: 'mod', modRevision: u.case === 'modRevision' ? revisionFromWire(u.value) : 0 };
    case Compare_CompareTarget.VALUE:
      return { ...base, target: 'value', value: u.case === 'value' ? u.value : new Uint8Array(0) };
    case Compare_CompareTarget.LEASE:
      return { ...base, target: 'lease', lease: u.case === 'lease' ? u.value : 0n };
    default:
      // An unknown target compares nothing in etcd's switch; the closest total answer is a version compare.
      return { ...base, target: 'version', version: 0 };
  }
}

/** A RequestOp; an empty one is etcd's "key not found" (its applier finds no request). */
export function requestOpFromPb(op: pb.RequestOp): mvcc.RequestOp {
  const r = op.request;
  switch (r.case) {
    case 'requestRange':
      return { range: rangeRequestFromPb(r.value) };
    case 'requestPut':
      return { put: putRequestFromPb(r.value) };
    case 'requestDeleteRange':
      return { deleteRange: deleteRangeRequestFromPb(r.value) };
    case 'requestTxn':
      return { txn: txnRequestFromPb(r.value) };
    default:
      throw new KeyNotFoundError();
  }
}

export function txnRequestFromPb(req: pb.TxnRequest): mvcc.TxnRequest {
  return { compare: req.compare.map(compareFromPb), success: req.success.map(requestOpFromPb), failure: req.failure.map(requestOpFromPb) };
}

// ---- responses: mvcc -> protobuf ----

export function keyValueToPb(kv: mvcc.KeyValue): kvpb.KeyValue {
  return create(KeyValueSchema, {
    key: kv.key,
    createRevision: BigInt(kv.createRevision),
    modRevision: BigInt(kv.modRevision),
    version: BigInt(kv.version),
    value: kv.value,
    lease: kv.lease,
  });
}

export function eventToPb(event: mvcc.MvccEvent): kvpb.Event {
  return create(EventSchema, {
    type: event.type === 'put' ? Event_EventType.PUT : Event_EventType.DELETE,
    kv: keyValueToPb(event.kv),
    ...(event.prevKv === undefined ? {} : { prevKv: keyValueToPb(event.prevKv) }),
  });
}

/** A header carrying only a revision: what etcd puts on the responses nested in a txn. */
export function revisionHeader(revision: number): pb.ResponseHeader {
  return create(ResponseHeaderSchema, { revision: BigInt(revision) });
}

export function rangeResponseToPb(res: mvcc.RangeResponse): pb.RangeResponse {
  return create(RangeResponseSchema, { header: revisionHeader(res.revision), kvs: res.kvs.map(keyValueToPb), more: res.more, count: BigInt(res.count) });
}

export function putResponseToPb(res: mvcc.PutResponse): pb.PutResponse {
  return create(PutResponseSchema, { header: revisionHeader(res.revision), ...(res.prevKv === undefined ? {} : { prevKv: keyValueToPb(res.prevKv) }) });
}

export function deleteRangeResponseToPb(res: mvcc.DeleteRangeResponse): pb.DeleteRangeResponse {
  return create(DeleteRangeResponseSchema, { header: revisionHeader(res.revision), deleted: BigInt(res.deleted), prevKvs: res.prevKvs.map(keyValueToPb) });
}

export function responseOpToPb(op: mvcc.ResponseOp): pb.ResponseOp {
  if ('range' in op) return create(ResponseOpSchema, { response: { case: 'responseRange', value: rangeResponseToPb(op.range) } });
  if ('put' in op) return create(ResponseOpSchema, { response: { case: 'responsePut', value: putResponseToPb(op.put) } });
  if ('deleteRange' in op) return create(ResponseOpSchema, { response: { case: 'responseDeleteRange', value: deleteRangeResponseToPb(op.deleteRange) } });
  // etcd leaves the header of a nested txn's response empty (only the outer one gets the revision).
  return create(ResponseOpSchema, { response: { case: 'responseTxn', value: txnResponseToPb(op.txn, { nested: true }) } });
}

export function txnResponseToPb(res: mvcc.TxnResponse, options: { nested?: boolean } = {}): pb.TxnResponse {
  const header = options.nested ? create(ResponseHeaderSchema) : revisionHeader(res.revision);
  return create(TxnResponseSchema, { header, succeeded: res.succeeded, responses: res.responses.map(responseOpToPb) });
}
