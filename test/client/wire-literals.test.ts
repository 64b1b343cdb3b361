// Method: pure unit tests. The request builders write wire messages as object literals (not
// protobuf-es's reflective create()): each one must equal create()'s message for the same
// fields, and encode to the same bytes, for every op and compare kind, with and without a
// namespace. Also the ASCII fast path of toBytes against TextEncoder.
import { create, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  Compare_CompareResult, Compare_CompareTarget, CompareSchema, DeleteRangeRequestSchema, PutRequestSchema, RangeRequest_SortOrder,
  RangeRequest_SortTarget, RangeRequestSchema, TxnRequestSchema,
} from '../../src/gen/etcdserverpb/rpc_pb.js';
import { compare, Namespace, toBytes } from '../../src/client/index.js';
import type { CompareSpec, DeleteSpec, PutSpec, RangeSpec } from '../../src/client/index.js';
import { compareToWire, deleteToWire, putToWire, rangeToWire, txnToWire } from '../../src/client/ops.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const range: RangeSpec = {
  type: 'range', key: bytes('a'), rangeEnd: bytes('b'), limit: 5n, revision: 7n, sortTarget: 'mod', sortOrder: 'descend',
  serializable: true, keysOnly: true, countOnly: false, minModRevision: 1n, maxModRevision: 2n, minCreateRevision: 3n, maxCreateRevision: 4n,
};
const put: PutSpec = { type: 'put', key: bytes('k'), value: bytes('v'), lease: 9n, prevKv: true, ignoreValue: false, ignoreLease: true };
const del: DeleteSpec = { type: 'delete', key: bytes('d'), rangeEnd: new Uint8Array([0]), prevKv: true };

describe.each([['no namespace', new Namespace()], ['namespace app/', new Namespace('app/')]])('wire literals (%s)', (_label, ns) => {
  const k = (b: Uint8Array): Uint8Array => ns.key(b);
  const expectedRange = create(RangeRequestSchema, {
    key: k(range.key), rangeEnd: ns.rangeEnd(range.rangeEnd), limit: 5n, revision: 7n, sortOrder: RangeRequest_SortOrder.DESCEND,
    sortTarget: RangeRequest_SortTarget.MOD, serializable: true, keysOnly: true, minModRevision: 1n, maxModRevision: 2n,
    minCreateRevision: 3n, maxCreateRevision: 4n,
  });
  const expectedPut = create(PutRequestSchema, { key: k(put.key), value: put.value, lease: 9n, prevKv: true, ignoreLease: true });
  const expectedDelete = create(DeleteRangeRequestSchema, { key: k(del.key), rangeEnd: ns.rangeEnd(del.rangeEnd), prevKv: true });

  it('range, put and delete equal create() and encode identically', () => {
    expect(rangeToWire(range, ns)).toStrictEqual(expectedRange);
    expect(putToWire(put, ns)).toStrictEqual(expectedPut);
    expect(deleteToWire(del, ns)).toStrictEqual(expectedDelete);
    expect(toBinary(RangeRequestSchema, rangeToWire(range, ns))).toEqual(toBinary(RangeRequestSchema, expectedRange));
    expect(toBinary(PutRequestSchema, putToWire(put, ns))).toEqual(toBinary(PutRequestSchema, expectedPut));
  });

  it('every compare target equals create()', () => {
    const cases: Array<[CompareSpec, Compare_CompareTarget, Parameters<typeof create<typeof CompareSchema>>[1]]> = [
      [compare.version('x', '>', 1n), Compare_CompareTarget.VERSION, { targetUnion: { case: 'version', value: 1n }, result: Compare_CompareResult.GREATER }],
      [compare.createRevision('x', '==', 0n), Compare_CompareTarget.CREATE, { targetUnion: { case: 'createRevision', value: 0n }, result: Compare_CompareResult.EQUAL }],
      [compare.modRevision('x', '<', 3n), Compare_CompareTarget.MOD, { targetUnion: { case: 'modRevision', value: 3n }, result: Compare_CompareResult.LESS }],
      [compare.lease('x', '!=', 4n), Compare_CompareTarget.LEASE, { targetUnion: { case: 'lease', value: 4n }, result: Compare_CompareResult.NOT_EQUAL }],
      [compare.value('x', '==', 'v'), Compare_CompareTarget.VALUE, { targetUnion: { case: 'value', value: bytes('v') }, result: Compare_CompareResult.EQUAL }],
    ];
    for (const [spec, target, init] of cases) {
      expect(compareToWire(spec, ns)).toStrictEqual(create(CompareSchema, { ...init, target, key: k(bytes('x')), rangeEnd: new Uint8Array(0) }));
    }
  });

  it('a nested txn equals create() and encodes identically', () => {
    const inner = { type: 'txn' as const, compares: [], success: [put], failure: [] };
    const spec = { type: 'txn' as const, compares: [compare.absent('x')], success: [range, put, del, inner], failure: [range] };
    const expected = create(TxnRequestSchema, {
      compare: [create(CompareSchema, { target: Compare_CompareTarget.CREATE, key: k(bytes('x')), targetUnion: { case: 'createRevision', value: 0n } })],
      success: [
        { request: { case: 'requestRange', value: expectedRange } },
        { request: { case: 'requestPut', value: expectedPut } },
        { request: { case: 'requestDeleteRange', value: expectedDelete } },
        { request: { case: 'requestTxn', value: create(TxnRequestSchema, { success: [{ request: { case: 'requestPut', value: expectedPut } }] }) } },
      ],
      failure: [{ request: { case: 'requestRange', value: expectedRange } }],
    });
    expect(txnToWire(spec, ns)).toStrictEqual(expected);
    expect(toBinary(TxnRequestSchema, txnToWire(spec, ns))).toEqual(toBinary(TxnRequestSchema, expected));
  });
});

describe('toBytes', () => {
  it('matches TextEncoder for ASCII, non-ASCII and long strings', () => {
    for (const s of ['', 'a', 'jobs/42', 'ключ', 'a\u0080b', '😀', 'x'.repeat(127), 'y'.repeat(128), 'z'.repeat(129), `${'a'.repeat(100)}é`]) {
      expect(toBytes(s)).toStrictEqual(new TextEncoder().encode(s));
    }
  });
});
