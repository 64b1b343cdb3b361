// Watch fan-out: many watchers, on one stream and on several, with the same and different
// filters, each get exactly their events in revision order; a revision's events are encoded
// once per distinct filter set (across every stream sharing the encoder), and when many
// revisions are ready at once a watcher's responses are coalesced into fewer transport writes.
import { create, fromBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { DeleteRangeRequestSchema, PutRequestSchema, WatchCreateRequest_FilterType, WatchRequestSchema, WatchResponseSchema } from '../../../src/gen/etcdserverpb/rpc_pb.js';
import type { WatchResponse } from '../../../src/gen/etcdserverpb/rpc_pb.js';
import { Event_EventType } from '../../../src/gen/mvccpb/kv_pb.js';
import { WatchEncoder } from '../../../src/server/api/watch-encoding.js';
import { WatchStream } from '../../../src/server/api/watch-stream.js';
import { MemoryPort } from './support/memory-port.js';

const b = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));
const s = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Spec {
  readonly key: string;
  /** undefined: the key only; '\0': every key >= key. */
  readonly rangeEnd?: string;
  readonly noPut?: boolean;
  readonly noDelete?: boolean;
  readonly prevKv?: boolean;
}

const SPECS: readonly Spec[] = [
  { key: 'k/a' },
  { key: 'k/a', prevKv: true },
  { key: 'k/', rangeEnd: 'k0' },
  { key: 'k/', rangeEnd: 'k0', noPut: true },
  { key: 'k/', rangeEnd: 'k0', noDelete: true, prevKv: true },
  { key: 'k/b', rangeEnd: 'k/d' },
  { key: 'k/c', rangeEnd: '\0' },
];

interface Change {
  readonly type: 'put' | 'delete';
  readonly key: string;
  readonly value: string;
  readonly revision: number;
  readonly prev: string | undefined;
}

function sees(spec: Spec, change: Change): boolean {
  const inRange = spec.rangeEnd === undefined ? change.key === spec.key : change.key >= spec.key && (spec.rangeEnd === '\0' || change.key < spec.rangeEnd);
  if (!inRange) return false;
  return change.type === 'put' ? spec.noPut !== true : spec.noDelete !== true;
}

const describeChange = (spec: Spec, c: Change): string => `${c.type} ${c.key}=${c.value} @${c.revision} prev=${spec.prevKv === true ? (c.prev ?? '-') : '-'}`;

/** A transport that decodes what it gets and counts writes. */
class RecordingTransport {
  readonly received: WatchResponse[] = [];
  write(bytes: Uint8Array): boolean {
    this.received.push(fromBinary(WatchResponseSchema, bytes));
    return true;
  }
  onceWritable(): void {
    throw new Error('never full');
  }
}

describe('watch fan-out', () => {
  it('delivers every watcher its events in order, encodes once per filter set and coalesces writes', async () => {
    const port = new MemoryPort();
    const encoder = new WatchEncoder();
    // Stream 0 and 1 carry every spec; stream 2 carries spec 0 and spec 2 twice each.
    const layouts = [SPECS.map((_, i) => i), SPECS.map((_, i) => i), [0, 0, 2, 2]];
    const streams = layouts.map((layout) => {
      const transport = new RecordingTransport();
      const stream = new WatchStream(port, transport, (error) => { throw error; }, encoder);
      return { layout, transport, stream };
    });
    for (const { layout, stream } of streams) {
      for (const index of layout) {
        const spec = SPECS[index]!;
        await stream.handle(create(WatchRequestSchema, {
          requestUnion: {
            case: 'createRequest',
            value: {
              key: b(spec.key),
              ...(spec.rangeEnd === undefined ? {} : { rangeEnd: b(spec.rangeEnd) }),
              prevKv: spec.prevKv === true,
              filters: [...(spec.noPut === true ? [WatchCreateRequest_FilterType.NOPUT] : []), ...(spec.noDelete === true ? [WatchCreateRequest_FilterType.NODELETE] : [])],
            },
          },
        }));
      }
    }

    const keys = ['k/a', 'k/b', 'k/c', 'k/d', 'x'];
    const values = new Map<string, string>();
    const changes: Change[] = [];
    const write = async (i: number): Promise<void> => {
      const key = keys[(i * 7) % keys.length]!;
      const prev = values.get(key);
      if (i % 4 === 3 && prev !== undefined) {
        await port.propose({ case: 'deleteRange', value: create(DeleteRangeRequestSchema, { key: b(key) }) });
        values.delete(key);
        changes.push({ type: 'delete', key, value: '', revision: port.store.currentRevision, prev });
      } else {
        const value = `v${i}`;
        await port.propose({ case: 'put', value: create(PutRequestSchema, { key: b(key), value: b(value) }) });
        values.set(key, value);
        changes.push({ type: 'put', key, value, revision: port.store.currentRevision, prev });
      }
    };
    // Forty writes in one turn (each watcher has many revisions ready at its flush), then twenty one per turn.
    for (let i = 0; i < 40; i += 1) await write(i);
    await turn();
    for (let i = 40; i < 60; i += 1) {
      await write(i);
      await turn();
    }
    await turn();

    let eventResponses = 0;
    let eventWrites = 0;
    for (const { layout, transport } of streams) {
      layout.forEach((index, position) => {
        const spec = SPECS[index]!;
        const responses = transport.received.filter((r) => r.watchId === BigInt(position) && !r.created);
        const got = responses.flatMap((r) => r.events.map((e) => describeChange(spec, {
          type: e.type === Event_EventType.DELETE ? 'delete' : 'put',
          key: s(e.kv!.key),
          value: s(e.kv!.value),
          revision: Number(e.kv!.modRevision),
          prev: e.prevKv === undefined ? undefined : s(e.prevKv.value),
        })));
        const expected = changes.filter((c) => sees(spec, c));
        expect(got, `stream watcher ${position} (spec ${index})`).toEqual(expected.map((c) => describeChange(spec, c)));
        if (spec.prevKv !== true) expect(responses.every((r) => r.events.every((e) => e.prevKv === undefined))).toBe(true);
        // A merged response's header revision is its last event's: a client resumes right after it.
        for (const r of responses) expect(r.header!.revision).toBe(r.events.at(-1)!.kv!.modRevision);
        eventResponses += expected.length;
        eventWrites += responses.length;
      });
    }
    // Each revision's events were encoded once per distinct spec that sees them, however many
    // watchers (on one stream or several) share that spec.
    const usedSpecs = [...new Set(layouts.flat())].map((i) => SPECS[i]!);
    const expectedBodies = changes.reduce((total, c) => total + usedSpecs.filter((spec) => sees(spec, c)).length, 0);
    expect(encoder.bodiesEncoded).toBe(expectedBodies);
    // One response per revision per watcher would have been eventResponses writes.
    expect(eventWrites).toBeLessThan(eventResponses);
    for (const { stream } of streams) stream.close();
    port.close();
  });
});
