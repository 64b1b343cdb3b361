// Backpressure of a Watch stream, tested on WatchStream directly with a transport that we hold
// full: writes to the store must never wait for the stream (they all complete while the sink
// is blocked), the stalled watcher leaves the synced group once its bounded buffer is full,
// and when the sink opens again every event arrives exactly once, in revision order.
import { create, fromBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { PutRequestSchema, WatchRequestSchema, WatchResponseSchema } from '../../../src/gen/etcdserverpb/rpc_pb.js';
import type { WatchResponse } from '../../../src/gen/etcdserverpb/rpc_pb.js';
import { WatchStream } from '../../../src/server/api/watch-stream.js';
import { MemoryPort } from './support/memory-port.js';

const b = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));

describe('watch stream backpressure', () => {
  it('never blocks writes; a stalled watcher catches up in order once the sink drains', async () => {
    const port = new MemoryPort({ maxBufferedEvents: 4 });
    const sent: WatchResponse[] = [];
    let blocked = false;
    let waiting: (() => void)[] = [];
    const transport = {
      write(bytes: Uint8Array): boolean {
        sent.push(fromBinary(WatchResponseSchema, bytes));
        return !blocked;
      },
      onceWritable(cb: () => void): void {
        waiting.push(cb);
      },
    };
    const errors: unknown[] = [];
    const stream = new WatchStream(port, transport, (error) => errors.push(error));
    await stream.handle(create(WatchRequestSchema, { requestUnion: { case: 'createRequest', value: { key: b('k/'), rangeEnd: b('k0') } } }));
    expect(sent).toHaveLength(1);
    blocked = true;
    for (let i = 0; i < 50; i += 1) await port.propose({ case: 'put', value: create(PutRequestSchema, { key: b(`k/${i % 5}`), value: b(String(i)) }) });
    // One response filled the transport; the watcher's buffer overflowed and it left the synced group.
    await new Promise((resolve) => setImmediate(resolve));
    expect(port.watchable.stats().synced).toBe(0);
    blocked = false;
    const callbacks = waiting;
    waiting = [];
    for (const cb of callbacks) cb();
    for (let spins = 0; spins < 1000 && sent.flatMap((r) => r.events).length < 50; spins += 1) await new Promise((resolve) => setImmediate(resolve));
    const values = sent.flatMap((r) => r.events).map((e) => Buffer.from(e.kv!.value).toString());
    expect(values).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
    const revisions = sent.flatMap((r) => r.events).map((e) => e.kv!.modRevision);
    expect([...revisions].sort((x, y) => (x < y ? -1 : 1))).toEqual(revisions);
    expect(port.watchable.stats().synced).toBe(1);
    expect(errors).toEqual([]);
    stream.close();
    port.close();
  });
});
