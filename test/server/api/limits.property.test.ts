// Property test of the request-size check: the cheap estimate must never be below the exact
// encoded size of the raft request (otherwise an oversized request could slip past the
// limit). Random puts, deletes and nested txns with random byte fields and int64 extremes
// are encoded exactly and compared with the estimate; a fixed example checks the boundary.
import { create, toBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RaftRequestSchema } from '../../../src/gen/conclave/internal_pb.js';
import { PutRequestSchema } from '../../../src/gen/etcdserverpb/rpc_pb.js';
import { checkProposalSize, estimateProposalBytes } from '../../../src/server/api/limits.js';
import type { ProposalRequest } from '../../../src/server/api/ports.js';

const bytes = fc.uint8Array({ maxLength: 300 });
const int64 = fc.oneof(fc.constant(0n), fc.constant((1n << 63n) - 1n), fc.constant(-(1n << 63n)), fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }));
const put = fc.record({ key: bytes, value: bytes, lease: int64, prevKv: fc.boolean(), ignoreValue: fc.boolean(), ignoreLease: fc.boolean() });
const range = fc.record({ key: bytes, rangeEnd: bytes, limit: int64, revision: int64, sortOrder: fc.integer({ min: 0, max: 2 }), sortTarget: fc.integer({ min: 0, max: 4 }), serializable: fc.boolean(), keysOnly: fc.boolean(), countOnly: fc.boolean(), minModRevision: int64, maxModRevision: int64, minCreateRevision: int64, maxCreateRevision: int64 });
const del = fc.record({ key: bytes, rangeEnd: bytes, prevKv: fc.boolean() });
const compare = fc.record({
  result: fc.integer({ min: 0, max: 3 }), target: fc.integer({ min: 0, max: 4 }), key: bytes, rangeEnd: bytes,
  targetUnion: fc.oneof(fc.record({ case: fc.constant('value' as const), value: bytes }), fc.record({ case: fc.constant('modRevision' as const), value: int64 }), fc.record({ case: fc.constant('lease' as const), value: int64 })),
});
const { txn } = fc.letrec<{ txn: unknown; op: unknown }>((tie) => ({
  txn: fc.record({ compare: fc.array(compare, { maxLength: 4 }), success: fc.array(tie('op'), { maxLength: 4 }), failure: fc.array(tie('op'), { maxLength: 4 }) }),
  op: fc.oneof(
    { depthSize: 'small' },
    fc.record({ request: fc.record({ case: fc.constant('requestPut'), value: put }) }),
    fc.record({ request: fc.record({ case: fc.constant('requestRange'), value: range }) }),
    fc.record({ request: fc.record({ case: fc.constant('requestDeleteRange'), value: del }) }),
    fc.record({ request: fc.record({ case: fc.constant('requestTxn'), value: tie('txn') }) }),
  ),
}));
const request = fc.oneof(
  fc.record({ case: fc.constant('put' as const), value: put }),
  fc.record({ case: fc.constant('deleteRange' as const), value: del }),
  fc.record({ case: fc.constant('txn' as const), value: txn }),
);

function exactBytes(req: ProposalRequest): number {
  return toBinary(RaftRequestSchema, create(RaftRequestSchema, { id: (1n << 64n) - 1n, request: req as never })).length;
}

describe('proposal size estimate', () => {
  it('is never below the exact encoded size', () => {
    fc.assert(fc.property(request, (init) => {
      const req = create(RaftRequestSchema, { request: init as never }).request;
      expect(estimateProposalBytes(req)).toBeGreaterThanOrEqual(exactBytes(req));
    }), { numRuns: 500 });
  });

  it('refuses exactly the requests above the limit', () => {
    const req: ProposalRequest = { case: 'put', value: create(PutRequestSchema, { key: new Uint8Array(10), value: new Uint8Array(1000) }) };
    const size = exactBytes(req);
    expect(() => checkProposalSize(req, size)).not.toThrow();
    expect(() => checkProposalSize(req, size - 1)).toThrow('etcdserver: request is too large');
  });
});
