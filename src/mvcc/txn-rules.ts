import { compareBytes, toByteString } from '../storage/backend/bytes.js';
import {
  DuplicateKeyError, EmptyKeyError, InvalidRequestError, LeaseProvidedError, TooManyOpsError, ValueProvidedError,
} from './errors.js';
import type { Compare, KeyValue, RequestOp, TxnRequest } from './types.js';

/**
 * The request checks etcd runs at the API layer, before raft: empty keys, ignore_value or
 * ignore_lease with a value or lease, the max-ops rule and the duplicate-key rule. The
 * server calls `validateRequest` before proposing; apply runs it again (it is
 * deterministic, so every member agrees).
 */
export function validateRequest(op: RequestOp, maxTxnOps: number): void {
  if ('range' in op) requireKey(op.range.key);
  else if ('put' in op) {
    requireKey(op.put.key);
    if (op.put.ignoreValue && op.put.value !== undefined && op.put.value.length > 0) throw new ValueProvidedError();
    if (op.put.ignoreLease && op.put.lease !== undefined && op.put.lease !== 0n) throw new LeaseProvidedError();
  } else if ('deleteRange' in op) requireKey(op.deleteRange.key);
  else if ('txn' in op) {
    checkTxn(op.txn, maxTxnOps);
    checkIntervals(op.txn.success ?? []);
    checkIntervals(op.txn.failure ?? []);
  } else throw new InvalidRequestError('empty request op');
}

function requireKey(key: Uint8Array): void {
  if (key.length === 0) throw new EmptyKeyError();
}

/** max(len(compare), len(success), len(failure)) <= budget; nested txns get what is left. */
function checkTxn(txn: TxnRequest, maxTxnOps: number): void {
  const compare = txn.compare ?? [];
  const success = txn.success ?? [];
  const failure = txn.failure ?? [];
  const used = Math.max(compare.length, success.length, failure.length);
  if (used > maxTxnOps) throw new TooManyOpsError();
  for (const c of compare) requireKey(c.key);
  for (const op of [...success, ...failure]) {
    if ('txn' in op) checkTxn(op.txn, maxTxnOps - used);
    else validateRequest(op, maxTxnOps);
  }
}

/**
 * etcd's duplicate-key rule for one branch: no key may be put twice, and no put may fall
 * inside a delete of the same branch (deletes of enclosing levels included). The two
 * branches of a nested txn exclude each other, so they may put the same key. Like etcd,
 * a delete's interval is taken from its raw range_end, so a "from key" delete ([0]) covers
 * nothing here.
 */
function checkIntervals(ops: readonly RequestOp[]): { puts: Set<string>; dels: Array<[string, string]> } {
  const dels: Array<[string, string]> = [];
  for (const op of ops) {
    if (!('deleteRange' in op)) continue;
    const start = toByteString(op.deleteRange.key);
    const end = op.deleteRange.rangeEnd;
    dels.push([start, end === undefined || end.length === 0 ? start + '\0' : toByteString(end)]);
  }
  const covered = (key: string): boolean => dels.some(([start, end]) => key >= start && key < end);
  const puts = new Set<string>();
  for (const op of ops) {
    if (!('txn' in op)) continue;
    const then = checkIntervals(op.txn.success ?? []);
    const otherwise = checkIntervals(op.txn.failure ?? []);
    for (const key of then.puts) {
      if (puts.has(key) || covered(key)) throw new DuplicateKeyError();
      puts.add(key);
    }
    for (const key of otherwise.puts) {
      if ((puts.has(key) && !then.puts.has(key)) || covered(key)) throw new DuplicateKeyError();
      puts.add(key);
    }
    dels.push(...then.dels, ...otherwise.dels);
  }
  for (const op of ops) {
    if (!('put' in op)) continue;
    const key = toByteString(op.put.key);
    if (puts.has(key) || covered(key)) throw new DuplicateKeyError();
    puts.add(key);
  }
  return { puts, dels };
}

/** The zero KeyValue a missing key compares as (for every target but value). */
const ZERO_KV: KeyValue = { key: new Uint8Array(0), createRevision: 0, modRevision: 0, version: 0, value: new Uint8Array(0), lease: 0n };

/**
 * One compare over the KeyValues of its key or range (all must satisfy it). A missing key
 * (or an empty range) compares as zeroes, except that a value compare then fails.
 */
export function evaluateCompare(compare: Compare, kvs: readonly KeyValue[]): boolean {
  if (kvs.length === 0) return compare.target === 'value' ? false : compareOne(compare, ZERO_KV);
  return kvs.every((kv) => compareOne(compare, kv));
}

function compareOne(compare: Compare, kv: KeyValue): boolean {
  let order: number;
  switch (compare.target) {
    case 'version':
      order = Math.sign(kv.version - compare.version);
      break;
    case 'create':
      order = Math.sign(kv.createRevision - compare.createRevision);
      break;
    case 'mod':
      order = Math.sign(kv.modRevision - compare.modRevision);
      break;
    case 'value':
      order = compareBytes(kv.value, compare.value);
      break;
    case 'lease':
      order = kv.lease === compare.lease ? 0 : kv.lease < compare.lease ? -1 : 1;
      break;
    default:
      throw new InvalidRequestError('unknown compare target');
  }
  switch (compare.result) {
    case 'equal':
      return order === 0;
    case 'not_equal':
      return order !== 0;
    case 'greater':
      return order > 0;
    case 'less':
      return order < 0;
    default:
      throw new InvalidRequestError('unknown compare result');
  }
}
