// Property test: random sequences of put / delete / txn / compact / range run against the
// MvccStore (on both engines) and against the naive KvModel (model.ts); every response and
// every error code must be identical. At the end the two engines' HashKV and snapshot
// streams must agree.
// fast-check shrinks a failure to a minimal command list; numRuns is kept CI-sized.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ConclaveError } from '../../src/base/errors.js';
import type { ApplyResult, WriteRequest } from '../../src/mvcc/kv-store.js';
import { writeSnapshot } from '../../src/storage/backend/snapshot.js';
import type { Compare, KeyValue, RangeRequest, RangeResponse, RequestOp, ResponseOp } from '../../src/mvcc/types.js';
import { cleanup, engines } from '../storage/backend/engines.js';
import { b, Log, s } from './helpers.js';
import { KvModel, type ModelCompare, type ModelKv, type ModelOp, type Outcome } from './model.js';

afterAll(cleanup);

const LEASES = new Set([1n, 2n]);
const hooks = { exists: (id: bigint) => LEASES.has(id), attach: () => {}, detach: () => {} };

/** `usual` three times out of four, else a draw from `other`: keeps most ranges wide and current. */
const mostly = <T>(usual: T, other: fc.Arbitrary<T>): fc.Arbitrary<T> => fc.oneof({ weight: 3, arbitrary: fc.constant(usual) }, { weight: 1, arbitrary: other });
const keyArb = fc.constantFrom('a', 'ab', 'b', 'b\xff', 'c', '\x00', '\xff');
const endArb = fc.option(fc.constantFrom('b', 'c', 'd', '\0', '\0', 'a', '\xff\xff'), { nil: undefined, freq: 3 });
const putArb = fc.record({
  kind: fc.constant('put' as const), key: keyArb, value: fc.constantFrom('x', 'y', 'z', ''),
  lease: fc.constantFrom(0n, 0n, 1n, 2n, 3n), prevKv: fc.boolean(), ignoreValue: fc.boolean(), ignoreLease: fc.boolean(),
}).map((op) => ({ ...op, value: op.ignoreValue ? '' : op.value, lease: op.ignoreLease ? 0n : op.lease }));
const delArb = fc.record({ kind: fc.constant('del' as const), key: keyArb, end: endArb, prevKv: fc.boolean() });
const rangeArb = fc.record({
  kind: fc.constant('range' as const), key: keyArb, end: endArb, revision: mostly(0, fc.nat(20)), limit: fc.nat(3),
  sortOrder: fc.constantFrom('none' as const, 'ascend' as const, 'descend' as const),
  sortTarget: fc.constantFrom('key' as const, 'version' as const, 'create' as const, 'mod' as const, 'value' as const),
  keysOnly: mostly(false, fc.constant(true)), countOnly: mostly(false, fc.constant(true)), minMod: mostly(0, fc.nat(12)), maxCreate: mostly(0, fc.nat(12)),
});
const opArb: fc.Arbitrary<ModelOp> = fc.oneof(putArb, delArb, rangeArb);
const compareArb: fc.Arbitrary<ModelCompare> = fc.record({
  key: keyArb, end: endArb,
  target: fc.constantFrom('version' as const, 'create' as const, 'mod' as const, 'value' as const, 'lease' as const),
  result: fc.constantFrom('equal' as const, 'greater' as const, 'less' as const, 'not_equal' as const),
  operand: fc.constantFrom('0', '1', '2', '5'),
}).map((c) => (c.target === 'value' ? { ...c, operand: ['x', 'y', ''][Number(c.operand) % 3]! } : c));

type Command =
  | { kind: 'op'; op: ModelOp }
  | { kind: 'txn'; compares: ModelCompare[]; success: ModelOp[]; failure: ModelOp[] }
  | { kind: 'compact'; revision: number };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: opArb.map((op) => ({ kind: 'op' as const, op })) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('txn' as const), compares: fc.array(compareArb, { maxLength: 2 }), success: fc.array(opArb, { maxLength: 3 }), failure: fc.array(opArb, { maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('compact' as const), revision: fc.nat(20) }) },
);

const endBytes = (end: string | undefined): { rangeEnd?: Uint8Array } => (end === undefined ? {} : { rangeEnd: b(end) });

function toRequestOp(op: ModelOp): RequestOp {
  switch (op.kind) {
    case 'put':
      return { put: { key: b(op.key), value: b(op.value), lease: op.lease, prevKv: op.prevKv, ignoreValue: op.ignoreValue, ignoreLease: op.ignoreLease } };
    case 'del':
      return { deleteRange: { key: b(op.key), ...endBytes(op.end), prevKv: op.prevKv } };
    case 'range':
      return { range: { key: b(op.key), ...endBytes(op.end), revision: op.revision, limit: op.limit, sortOrder: op.sortOrder, sortTarget: op.sortTarget, keysOnly: op.keysOnly, countOnly: op.countOnly, minModRevision: op.minMod, maxCreateRevision: op.maxCreate } };
  }
}

function toCompare(c: ModelCompare): Compare {
  const base = { key: b(c.key), ...endBytes(c.end), result: c.result };
  switch (c.target) {
    case 'value': return { ...base, target: 'value', value: b(c.operand) };
    case 'lease': return { ...base, target: 'lease', lease: BigInt(c.operand) };
    case 'version': return { ...base, target: 'version', version: Number(c.operand) };
    case 'create': return { ...base, target: 'create', createRevision: Number(c.operand) };
    case 'mod': return { ...base, target: 'mod', modRevision: Number(c.operand) };
  }
}

const kvOf = (kv: KeyValue): ModelKv => ({ key: s(kv.key), value: s(kv.value), create: kv.createRevision, mod: kv.modRevision, version: kv.version, lease: kv.lease });
const rangeOf = (r: RangeResponse): unknown => ({ count: r.count, more: r.more, kvs: r.kvs.map(kvOf) });

function responseOf(response: ResponseOp): unknown {
  if ('put' in response) return { put: response.put.prevKv === undefined ? {} : { prevKv: kvOf(response.put.prevKv) } };
  if ('deleteRange' in response) return { del: { deleted: response.deleteRange.deleted, prevKvs: response.deleteRange.prevKvs.map(kvOf) } };
  if ('range' in response) return { range: { ok: rangeOf(response.range) } };
  throw new Error('nested txn not generated');
}

/** Runs one command on the store, shaped like the model's outcome. */
function runOnStore(log: Log, command: Command): Outcome {
  const outcome = (result: ApplyResult, shape: (r: ResponseOp) => unknown): Outcome => {
    if (result.kind === 'error') return { error: result.error.code };
    if (result.kind !== 'ok' || 'compact' in result.response) throw new Error('unexpected apply result');
    return { ok: shape(result.response) };
  };
  const txnShape = (r: ResponseOp): unknown => {
    if (!('txn' in r)) throw new Error('not a txn');
    return { succeeded: r.txn.succeeded, revision: r.txn.revision, responses: r.txn.responses.map(responseOf) };
  };
  if (command.kind === 'compact') {
    const result = log.applyResult({ compact: { revision: command.revision } } as WriteRequest);
    return result.kind === 'error' ? { error: result.error.code } : { ok: command.revision };
  }
  if (command.kind === 'txn') {
    return outcome(log.applyResult({ txn: { compare: command.compares.map(toCompare), success: command.success.map(toRequestOp), failure: command.failure.map(toRequestOp) } }), txnShape);
  }
  const op = command.op;
  if (op.kind === 'range') {
    try {
      return { ok: rangeOf(log.store.range((toRequestOp(op) as { range: RangeRequest }).range)) };
    } catch (error) {
      if (ConclaveError.is(error)) return { error: error.code };
      throw error;
    }
  }
  // A single put or delete goes through as a one-op txn shape in the model; compare the parts both have.
  return outcome(log.applyResult(toRequestOp(op)), (r) => ({ succeeded: true, revision: log.store.currentRevision, responses: [responseOf(r)] }));
}

function runOnModel(model: KvModel, command: Command): Outcome {
  if (command.kind === 'compact') return model.compact(command.revision);
  if (command.kind === 'txn') return model.txn(command.compares, command.success, command.failure);
  if (command.op.kind === 'range') return model.range({ ...command.op, revision: command.op.revision });
  return model.txn([], [command.op], []);
}

describe('MvccStore against the reference model', () => {
  it('gives identical results on both engines for random command sequences', () => {
    fc.assert(
      fc.property(fc.array(commandArb, { minLength: 5, maxLength: 40, size: 'max' }), (commands) => {
        const model = new KvModel(LEASES);
        const logs = engines.map((engine) => Log.open(engine.create({ batchOps: 16 }), { leases: hooks }));
        for (const command of commands) {
          const expected = runOnModel(model, command);
          for (const log of logs) expect(runOnStore(log, command)).toEqual(expected);
        }
        const hashes = logs.map((log) => log.store.hashKv());
        expect(hashes[1]).toEqual(hashes[0]);
        // Same applied log, same bytes: the engines' snapshot streams are identical.
        const [memorySnapshot, lmdbSnapshot] = logs.map((log) => Buffer.concat([...writeSnapshot(log.store.backend)]));
        expect(lmdbSnapshot!.equals(memorySnapshot!)).toBe(true);
        for (const log of logs) {
          expect(log.store.currentRevision).toBe(model.rev);
          log.store.backend.close();
        }
      }),
      { numRuns: 150 },
    );
  });
});
