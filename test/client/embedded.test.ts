// Method: the client over the in-process seam (EmbeddedMember) with a small fake member written
// here: an in-memory key space answering Range/Put and a Watch stream. Checks that calls reach
// the member as message objects (no serialization), that `{ code, details }` failures map to
// the same typed errors as over gRPC, that aborting cancels the call, that an unusable member
// is skipped, and that watches work over the seam.
import { EventEmitter } from 'node:events';
import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  PutResponseSchema, RangeResponseSchema, ResponseHeaderSchema, WatchResponseSchema,
} from '../../src/gen/etcdserverpb/rpc_pb.js';
import type { PutRequest, RangeRequest, WatchRequest } from '../../src/gen/etcdserverpb/rpc_pb.js';
import { EventSchema, KeyValueSchema } from '../../src/gen/mvccpb/kv_pb.js';
import type { KeyValue } from '../../src/gen/mvccpb/kv_pb.js';
import { Client } from '../../src/client/index.js';
import type { EmbeddedMember, Metadata, StreamLike } from '../../src/client/index.js';

class FakeStream extends EventEmitter implements StreamLike<unknown, unknown> {
  constructor(private readonly onWrite: (message: unknown, stream: FakeStream) => void) {
    super();
  }

  write(message: unknown): boolean {
    this.onWrite(message, this);
    return true;
  }

  end(): void {}

  cancel(): void {
    this.emit('error', { code: 1, details: 'Cancelled on client' });
  }
}

class FakeMember implements EmbeddedMember {
  revision = 1n;
  readonly data = new Map<string, KeyValue>();
  readonly received: unknown[] = [];
  readonly watchers: Array<{ stream: FakeStream; key: string; id: bigint }> = [];
  healthy = true;

  constructor(readonly name: string) {}

  usable(): boolean {
    return this.healthy;
  }

  header() {
    return create(ResponseHeaderSchema, { revision: this.revision, memberId: 1n, clusterId: 1n, raftTerm: 1n });
  }

  async unary(path: string, request: unknown, _metadata: Metadata, signal: AbortSignal): Promise<unknown> {
    this.received.push(request);
    const key = (r: { key: Uint8Array }): string => Buffer.from(r.key).toString();
    if (path === '/etcdserverpb.KV/Range') {
      const kv = this.data.get(key(request as RangeRequest));
      return create(RangeResponseSchema, { header: this.header(), kvs: kv ? [kv] : [], count: kv ? 1n : 0n });
    }
    if (path === '/etcdserverpb.KV/Put') {
      const put = request as PutRequest;
      if (put.lease !== 0n) throw { code: 5, details: 'etcdserver: requested lease not found' };
      if (key(put) === 'hang') {
        return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
      }
      this.revision += 1n;
      const previous = this.data.get(key(put));
      const kv = create(KeyValueSchema, {
        key: put.key, value: put.value, modRevision: this.revision, createRevision: previous?.createRevision ?? this.revision,
        version: (previous?.version ?? 0n) + 1n,
      });
      this.data.set(key(put), kv);
      for (const w of this.watchers) {
        if (w.key === key(put)) w.stream.emit('data', create(WatchResponseSchema, { header: this.header(), watchId: w.id, events: [create(EventSchema, { kv })] }));
      }
      return create(PutResponseSchema, { header: this.header() });
    }
    throw { code: 12, details: `unknown method ${path}` };
  }

  stream(path: string): StreamLike<unknown, unknown> {
    if (path !== '/etcdserverpb.Watch/Watch') throw new Error(`no stream ${path}`);
    let nextId = 0n;
    return new FakeStream((message, stream) => {
      const request = message as WatchRequest;
      if (request.requestUnion.case === 'createRequest') {
        const id = nextId++;
        this.watchers.push({ stream, key: Buffer.from(request.requestUnion.value.key).toString(), id });
        queueMicrotask(() => stream.emit('data', create(WatchResponseSchema, { header: this.header(), watchId: id, created: true })));
      }
    });
  }
}

describe('client over an embedded member', () => {
  it('passes message objects, maps errors, and serves watches', async () => {
    const member = new FakeMember('embedded-1');
    const client = new Client({ embedded: [member] });
    try {
      await client.put('k', 'v1');
      expect((member.received[0] as { $typeName: string }).$typeName).toBe('etcdserverpb.PutRequest');
      expect(await client.get('k').string()).toBe('v1');
      await expect(client.put('k', 'v').lease(7n)).rejects.toMatchObject({ code: 'ERR_ETCD_LEASE_NOT_FOUND', grpcCode: 5 });
      const watcher = client.watch('k');
      await watcher.ready();
      await client.put('k', 'v2');
      const first = await watcher.next();
      expect(first.value?.kv.value).toBe('v2');
      watcher.close();
      const controller = new AbortController();
      const hanging = client.put('hang', 'x').signal(controller.signal);
      controller.abort(new Error('give up'));
      await expect(hanging).rejects.toThrow('give up');
    } finally {
      await client.close();
    }
  });

  it('destroy() ends calls in flight and watchers with the reason; close() drains first', async () => {
    const member = new FakeMember('m');
    const client = new Client({ embedded: [member] });
    const hanging = client.put('hang', 'x').then((result) => result);
    const watcher = client.watch('k');
    await watcher.ready();
    const reason = new Error('shutting down');
    client.destroy(reason);
    await expect(hanging).rejects.toBe(reason);
    await expect(watcher.next()).rejects.toMatchObject({ code: 'ERR_CLIENT_CLOSED', cause: reason });
    await expect(client.get('k')).rejects.toBe(reason);
    client.destroy();
    await client.close();

    const draining = new Client({ embedded: [new FakeMember('n')] });
    // A builder is sent when awaited (then() is called), so start it before closing.
    const write = draining.put('a', '1').then((result) => result);
    const closed = draining.close();
    await expect(write).resolves.toMatchObject({ header: { revision: 2n } });
    await closed;
    await expect(draining.get('a')).rejects.toMatchObject({ code: 'ERR_CLIENT_CLOSED' });
  });

  it('skips an unusable member and uses the next one', async () => {
    const down = new FakeMember('down');
    down.healthy = false;
    const up = new FakeMember('up');
    const client = new Client({ embedded: [down, up] });
    try {
      await client.put('a', '1');
      expect(down.received).toHaveLength(0);
      expect(up.data.has('a')).toBe(true);
    } finally {
      await client.close();
    }
  });
});
