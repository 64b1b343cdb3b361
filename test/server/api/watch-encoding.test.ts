// Watch responses spliced from cached event bytes are byte for byte what protobuf-es writes,
// and an event is converted once per kv version, whatever the number of watchers.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ResponseHeaderSchema, WatchResponseSchema } from '../../../src/gen/etcdserverpb/rpc_pb.js';
import type { MvccEvent } from '../../../src/mvcc/index.js';
import { encodeWatchResponse, sharedEventToPb, WatchEncoder } from '../../../src/server/api/watch-encoding.js';

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

  it('writes a shared-segment response as exactly the bytes toBinary writes, each segment encoded once', () => {
    const event = fc.record({ type: fc.constantFrom('put', 'delete'), kv, prevKv: fc.option(kv, { nil: undefined }) });
    fc.assert(fc.property(
      fc.array(fc.array(event, { minLength: 1, maxLength: 5 }), { maxLength: 4 }),
      fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
      fc.record({ canceled: fc.boolean(), fragment: fc.boolean(), compactRevision: fc.nat() }),
      fc.record({ clusterId: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), memberId: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), revision: fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }), raftTerm: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }),
      (segments, watchId, flags, header) => {
        const encoder = new WatchEncoder();
        const shared = segments as unknown as MvccEvent[][];
        const response = { header: create(ResponseHeaderSchema, header), watchId, segments: shared, ...flags };
        const bytes = encoder.encode(response);
        const expected = toBinary(WatchResponseSchema, create(WatchResponseSchema, { ...response, compactRevision: BigInt(flags.compactRevision), events: shared.flat().map(sharedEventToPb) }));
        expect(Buffer.from(bytes).equals(Buffer.from(expected))).toBe(true);
        // A second watcher with the same segments reuses their bodies.
        expect(Buffer.from(encoder.encode({ ...response, watchId: 3n })).equals(Buffer.from(toBinary(WatchResponseSchema, { ...fromBinary(WatchResponseSchema, expected), watchId: 3n })))).toBe(true);
        expect(encoder.bodiesEncoded).toBe(shared.length);
      },
    ), { numRuns: 300 });
  });
});
