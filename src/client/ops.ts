/**
 * Plain-data descriptions of KV operations and txn compares, and their conversion to wire
 * messages (adding the namespace) and back. Builders in kv.ts produce these; txns nest them.
 */
import {
  Compare_CompareResult, Compare_CompareTarget, RangeRequest_SortOrder, RangeRequest_SortTarget,
} from '../gen/etcdserverpb/rpc_pb.js';
import type {
  Compare as WireCompare, DeleteRangeRequest, DeleteRangeResponse, PutRequest, PutResponse, RangeRequest,
  RangeResponse, RequestOp, ResponseOp, TxnRequest, TxnResponse,
} from '../gen/etcdserverpb/rpc_pb.js';
import { assert, InvalidOptionError } from '../base/index.js';
import { toBytes } from './keys.js';
import type { Key, Namespace } from './keys.js';
import { fromWireHeader, fromWireKv } from './results.js';
import type { DeleteResult, OpResult, PutResult, RangeResult, TxnResult } from './results.js';

export type SortTarget = 'key' | 'version' | 'create' | 'mod' | 'value';
export type SortOrder = 'none' | 'ascend' | 'descend';

export interface RangeSpec {
  readonly type: 'range';
  readonly key: Uint8Array;
  /** Empty: only `key`; `\0`: every key from `key` up; else `[key, rangeEnd)`. */
  readonly rangeEnd: Uint8Array;
  readonly limit: bigint;
  readonly revision: bigint;
  readonly sortTarget: SortTarget;
  readonly sortOrder: SortOrder;
  readonly serializable: boolean;
  readonly keysOnly: boolean;
  readonly countOnly: boolean;
  readonly minModRevision: bigint;
  readonly maxModRevision: bigint;
  readonly minCreateRevision: bigint;
  readonly maxCreateRevision: bigint;
}

export interface PutSpec {
  readonly type: 'put';
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly lease: bigint;
  readonly prevKv: boolean;
  readonly ignoreValue: boolean;
  readonly ignoreLease: boolean;
}

export interface DeleteSpec {
  readonly type: 'delete';
  readonly key: Uint8Array;
  readonly rangeEnd: Uint8Array;
  readonly prevKv: boolean;
}

export interface TxnSpec {
  readonly type: 'txn';
  readonly compares: readonly CompareSpec[];
  readonly success: readonly OpSpec[];
  readonly failure: readonly OpSpec[];
}

export type OpSpec = RangeSpec | PutSpec | DeleteSpec | TxnSpec;

export type CompareOperator = '==' | '!=' | '<' | '>';
export type CompareTarget = 'version' | 'create' | 'mod' | 'value' | 'lease';

/** One txn condition; see the `compare` helpers for constructing them. */
export interface CompareSpec {
  readonly target: CompareTarget;
  readonly key: Uint8Array;
  readonly operator: CompareOperator;
  /** bigint for numeric targets, bytes for 'value'. */
  readonly operand: bigint | Uint8Array;
  /** Apply the compare to every key in [key, rangeEnd); empty for one key. */
  readonly rangeEnd: Uint8Array;
}

function numericCompare(target: Exclude<CompareTarget, 'value'>) {
  return (key: Key, operator: CompareOperator, operand: bigint | number): CompareSpec => ({
    target, key: toBytes(key), operator, operand: BigInt(operand), rangeEnd: new Uint8Array(0),
  });
}

/** Builders for txn compares. A missing key has version, create and mod revision and lease 0. */
export const compare = {
  version: numericCompare('version'),
  createRevision: numericCompare('create'),
  modRevision: numericCompare('mod'),
  lease: numericCompare('lease'),
  /** Value compares fail on a missing key, whatever the operator. */
  value: (key: Key, operator: CompareOperator, operand: Key): CompareSpec => ({
    target: 'value', key: toBytes(key), operator, operand: toBytes(operand), rangeEnd: new Uint8Array(0),
  }),
  /** True when `key` does not exist (its create revision is 0). */
  absent: (key: Key): CompareSpec => numericCompare('create')(key, '==', 0n),
};

const operatorToWire: Record<CompareOperator, Compare_CompareResult> = {
  '==': Compare_CompareResult.EQUAL,
  '!=': Compare_CompareResult.NOT_EQUAL,
  '<': Compare_CompareResult.LESS,
  '>': Compare_CompareResult.GREATER,
};

const sortTargetToWire: Record<SortTarget, RangeRequest_SortTarget> = {
  key: RangeRequest_SortTarget.KEY,
  version: RangeRequest_SortTarget.VERSION,
  create: RangeRequest_SortTarget.CREATE,
  mod: RangeRequest_SortTarget.MOD,
  value: RangeRequest_SortTarget.VALUE,
};

const sortOrderToWire: Record<SortOrder, RangeRequest_SortOrder> = {
  none: RangeRequest_SortOrder.NONE,
  ascend: RangeRequest_SortOrder.ASCEND,
  descend: RangeRequest_SortOrder.DESCEND,
};

function requireKey(key: Uint8Array, what: string): void {
  if (key.length === 0) throw new InvalidOptionError(what, 'key must not be empty');
}

/*
 * Wire messages are written as typed object literals rather than through protobuf-es's
 * reflective `create()`: the generated types make tsc check that every field is present, and
 * test/client/wire-literals.test.ts checks that each literal equals `create()`'s message.
 */

export function compareToWire(spec: CompareSpec, ns: Namespace): WireCompare {
  requireKey(spec.key, 'compare.key');
  return {
    $typeName: 'etcdserverpb.Compare', result: operatorToWire[spec.operator], target: compareTargetToWire[spec.target],
    key: ns.key(spec.key), targetUnion: compareUnion(spec), rangeEnd: ns.rangeEnd(spec.rangeEnd),
  };
}

const compareTargetToWire: Record<CompareTarget, Compare_CompareTarget> = {
  version: Compare_CompareTarget.VERSION,
  create: Compare_CompareTarget.CREATE,
  mod: Compare_CompareTarget.MOD,
  value: Compare_CompareTarget.VALUE,
  lease: Compare_CompareTarget.LEASE,
};

function compareUnion(spec: CompareSpec): WireCompare['targetUnion'] {
  switch (spec.target) {
    case 'version':
      return { case: 'version', value: spec.operand as bigint };
    case 'create':
      return { case: 'createRevision', value: spec.operand as bigint };
    case 'mod':
      return { case: 'modRevision', value: spec.operand as bigint };
    case 'lease':
      return { case: 'lease', value: spec.operand as bigint };
    case 'value':
      return { case: 'value', value: spec.operand as Uint8Array };
  }
}

export function rangeToWire(spec: RangeSpec, ns: Namespace): RangeRequest {
  requireKey(spec.key, 'range.key');
  return {
    $typeName: 'etcdserverpb.RangeRequest',
    key: ns.key(spec.key), rangeEnd: ns.rangeEnd(spec.rangeEnd), limit: spec.limit, revision: spec.revision,
    sortOrder: sortOrderToWire[spec.sortOrder], sortTarget: sortTargetToWire[spec.sortTarget],
    serializable: spec.serializable, keysOnly: spec.keysOnly, countOnly: spec.countOnly,
    minModRevision: spec.minModRevision, maxModRevision: spec.maxModRevision,
    minCreateRevision: spec.minCreateRevision, maxCreateRevision: spec.maxCreateRevision,
  };
}

export function putToWire(spec: PutSpec, ns: Namespace): PutRequest {
  requireKey(spec.key, 'put.key');
  return {
    $typeName: 'etcdserverpb.PutRequest', key: ns.key(spec.key), value: spec.value, lease: spec.lease, prevKv: spec.prevKv,
    ignoreValue: spec.ignoreValue, ignoreLease: spec.ignoreLease,
  };
}

export function deleteToWire(spec: DeleteSpec, ns: Namespace): DeleteRangeRequest {
  requireKey(spec.key, 'delete.key');
  return { $typeName: 'etcdserverpb.DeleteRangeRequest', key: ns.key(spec.key), rangeEnd: ns.rangeEnd(spec.rangeEnd), prevKv: spec.prevKv };
}

export function txnToWire(spec: TxnSpec, ns: Namespace): TxnRequest {
  return {
    $typeName: 'etcdserverpb.TxnRequest',
    compare: spec.compares.map((c) => compareToWire(c, ns)),
    success: spec.success.map((op) => opToWire(op, ns)),
    failure: spec.failure.map((op) => opToWire(op, ns)),
  };
}

function opToWire(op: OpSpec, ns: Namespace): RequestOp {
  switch (op.type) {
    case 'range':
      return { $typeName: 'etcdserverpb.RequestOp', request: { case: 'requestRange', value: rangeToWire(op, ns) } };
    case 'put':
      return { $typeName: 'etcdserverpb.RequestOp', request: { case: 'requestPut', value: putToWire(op, ns) } };
    case 'delete':
      return { $typeName: 'etcdserverpb.RequestOp', request: { case: 'requestDeleteRange', value: deleteToWire(op, ns) } };
    case 'txn':
      return { $typeName: 'etcdserverpb.RequestOp', request: { case: 'requestTxn', value: txnToWire(op, ns) } };
  }
}

export function rangeFromWire(response: RangeResponse, ns: Namespace): RangeResult {
  return {
    header: fromWireHeader(response.header), kvs: response.kvs.map((kv) => fromWireKv(kv, ns)),
    more: response.more, count: response.count,
  };
}

export function putFromWire(response: PutResponse, ns: Namespace): PutResult {
  return { header: fromWireHeader(response.header), prevKv: response.prevKv === undefined ? undefined : fromWireKv(response.prevKv, ns) };
}

export function deleteFromWire(response: DeleteRangeResponse, ns: Namespace): DeleteResult {
  return { header: fromWireHeader(response.header), deleted: response.deleted, prevKvs: response.prevKvs.map((kv) => fromWireKv(kv, ns)) };
}

export function txnFromWire(response: TxnResponse, ns: Namespace): TxnResult {
  return { header: fromWireHeader(response.header), succeeded: response.succeeded, results: response.responses.map((r) => opResultFromWire(r, ns)) };
}

function opResultFromWire(response: ResponseOp, ns: Namespace): OpResult {
  const r = response.response;
  switch (r.case) {
    case 'responseRange':
      return { type: 'range', result: rangeFromWire(r.value, ns) };
    case 'responsePut':
      return { type: 'put', result: putFromWire(r.value, ns) };
    case 'responseDeleteRange':
      return { type: 'delete', result: deleteFromWire(r.value, ns) };
    case 'responseTxn':
      return { type: 'txn', result: txnFromWire(r.value, ns) };
    default:
      assert(false, 'txn response op without a body');
  }
}

/** True when every op (recursively) is a read, so the txn may be repeated safely. */
export function isReadOnly(ops: readonly OpSpec[]): boolean {
  return ops.every((op) => op.type === 'range' || (op.type === 'txn' && isReadOnly(op.success) && isReadOnly(op.failure)));
}
