// Issue 15: a progress reply (watch id -1) says every event up to its header revision was
// delivered on the stream. It must never overtake events a watcher still had buffered or
// taken from its buffer but not yet written: here the transport is full while writes commit,
// a progress request comes in, and only the order the transport received messages counts.
import { create, fromBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { PutRequestSchema, WatchRequestSchema, WatchResponseSchema } from '../../../src/gen/etcdserverpb/rpc_pb.js';
import type { WatchRequest, WatchResponse } from '../../../src/gen/etcdserverpb/rpc_pb.js';
import { WatchStream } from '../../../src/server/api/watch-stream.js';
import { MemoryPort } from './support/memory-port.js';

const b = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A transport that records every message in arrival order and can be held full. */
class HeldTransport {
  readonly received: WatchResponse[] = [];
  full = false;
  private waiting: (() => void)[] = [];
  write(bytes: Uint8Array): boolean {
    this.received.push(fromBinary(WatchResponseSchema, bytes));
    return !this.full;
  }
  onceWritable(cb: () => void): void {
    this.waiting.push(cb);
  }
  open(): void {
    this.full = false;
    const callbacks = this.waiting;
    this.waiting = [];
    for (const cb of callbacks) cb();
  }
}

const isProgressReply = (r: WatchResponse): boolean => r.watchId === -1n && !r.created && !r.canceled && r.events.length === 0;

/** Every progress reply's revision is covered by the events received before it. */
function expectProgressNeverAhead(received: readonly WatchResponse[], firstRevision: bigint): void {
  let delivered = firstRevision - 1n;
  for (const r of received) {
    for (const e of r.events) if (e.kv!.modRevision > delivered) delivered = e.kv!.modRevision;
    if (isProgressReply(r)) expect(r.header!.revision).toBeLessThanOrEqual(delivered);
  }
}

const createRequest = (key: string): WatchRequest => create(WatchRequestSchema, { requestUnion: { case: 'createRequest', value: { key: b(key) } } });
const progressRequest = (): WatchRequest => create(WatchRequestSchema, { requestUnion: { case: 'progressRequest', value: {} } });

describe('watch progress replies and delivered events', () => {
  it('waits for the events buffered behind a full transport before replying', async () => {
    const port = new MemoryPort();
    const transport = new HeldTransport();
    const stream = new WatchStream(port, transport, (error) => { throw error; });
    await stream.handle(createRequest('a'));
    await stream.handle(createRequest('b'));
    const firstRevision = BigInt(port.store.currentRevision + 1);
    transport.full = true;
    for (let i = 0; i < 6; i += 1) await port.propose({ case: 'put', value: create(PutRequestSchema, { key: b(i % 2 === 0 ? 'a' : 'b'), value: b(String(i)) }) });
    await turn();
    let answered = false;
    const progress = stream.handle(progressRequest()).then(() => { answered = true; });
    await turn();
    expectProgressNeverAhead(transport.received, firstRevision);
    expect(answered).toBe(false);
    transport.open();
    await progress;
    expect(answered).toBe(true);
    expectProgressNeverAhead(transport.received, firstRevision);
    const replies = transport.received.filter(isProgressReply);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.header!.revision).toBe(BigInt(port.store.currentRevision));
    const valuesOf = (watchId: bigint): string[] => transport.received.filter((r) => r.watchId === watchId).flatMap((r) => r.events).map((e) => Buffer.from(e.kv!.value).toString());
    expect([valuesOf(0n), valuesOf(1n)]).toEqual([['0', '2', '4'], ['1', '3', '5']]);
    stream.close();
    port.close();
  });

  it('writes events committed in the same turn before the reply', async () => {
    const port = new MemoryPort();
    const transport = new HeldTransport();
    const stream = new WatchStream(port, transport, (error) => { throw error; });
    await stream.handle(createRequest('a'));
    const firstRevision = BigInt(port.store.currentRevision + 1);
    for (let i = 0; i < 3; i += 1) await port.propose({ case: 'put', value: create(PutRequestSchema, { key: b('a'), value: b(String(i)) }) });
    await stream.handle(progressRequest());
    expectProgressNeverAhead(transport.received, firstRevision);
    expect(transport.received.filter(isProgressReply).map((r) => r.header!.revision)).toEqual([BigInt(port.store.currentRevision)]);
    stream.close();
    port.close();
  });

  it('sends no reply while a watcher is not synced (etcd 3.5)', async () => {
    const port = new MemoryPort({ maxBufferedEvents: 2 });
    const transport = new HeldTransport();
    const stream = new WatchStream(port, transport, (error) => { throw error; });
    await stream.handle(createRequest('a'));
    transport.full = true;
    for (let i = 0; i < 8; i += 1) await port.propose({ case: 'put', value: create(PutRequestSchema, { key: b('a'), value: b(String(i)) }) });
    await turn();
    expect(port.watchable.stats().synced).toBe(0);
    await stream.handle(progressRequest());
    expect(transport.received.filter(isProgressReply)).toEqual([]);
    transport.open();
    for (let spins = 0; spins < 100 && transport.received.flatMap((r) => r.events).length < 8; spins += 1) await turn();
    expect(transport.received.flatMap((r) => r.events)).toHaveLength(8);
    stream.close();
    port.close();
  });
});
