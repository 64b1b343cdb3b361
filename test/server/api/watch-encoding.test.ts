// Watch responses spliced from cached event bytes are byte for byte what protobuf-es writes,
// and an event is converted once per kv version, whatever the number of watchers.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WatchResponseSchema } from '../../../src/gen/etcdserverpb/rpc_pb.js';
import type { MvccEvent } from '../../../src/mvcc/index.js';
import { encodeWatchResponse, sharedEventToPb } from '../../../src/server/api/watch-encoding.js';

const bytes = fc.uint8Array({ maxLength: 300 });
const kv = fc.record({ key: bytes, value: bytes, createRevision: fc.nat(), modRevision: fc.nat(), version: fc.nat(), lease: fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }) });

describe('watch response encoding', () => {
  it('splices cached event bytes into exactly the bytes toBinary writes', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ type: fc.constantFrom('put', 'delete'), kv, prevKv: fc.option(kv, { nil: undefined }) }), { maxLength: 20 }),
      fc.bigInt({ min: -1n, max: 1n << 40n }),
      fc.boolean(),
      fc.nat(),
      (events, watchId, fragment, revision) => {
        const response = create(WatchResponseSchema, {
          header: { clusterId: 7n, memberId: 9n, revision: BigInt(revision), raftTerm: 3n },
          watchId,
          fragment,
          events: (events as unknown as MvccEvent[]).map(sharedEventToPb),
        });
        const spliced = encodeWatchResponse(response);
        expect(spliced).toEqual(toBinary(WatchResponseSchema, response));
        expect(fromBinary(WatchResponseSchema, spliced)).toEqual(fromBinary(WatchResponseSchema, toBinary(WatchResponseSchema, response)));
      },
    ), { numRuns: 200 });
  });

  it('converts an event once per kv version and prevKv choice', () => {
    const version = { key: new Uint8Array([1]), value: new Uint8Array([2]), createRevision: 2, modRevision: 5, version: 3, lease: 0n };
    const previous = { ...version, modRevision: 4, version: 2 };
    const withPrev = { type: 'put', kv: version, prevKv: previous } as unknown as MvccEvent;
    const stripped = { type: 'put', kv: version } as unknown as MvccEvent;
    expect(sharedEventToPb(withPrev)).toBe(sharedEventToPb(withPrev));
    expect(sharedEventToPb(stripped)).toBe(sharedEventToPb({ ...stripped }));
    expect(sharedEventToPb(stripped)).not.toBe(sharedEventToPb(withPrev));
    expect(sharedEventToPb(stripped).prevKv).toBeUndefined();
    expect(sharedEventToPb(withPrev).prevKv?.modRevision).toBe(4n);
  });
});
