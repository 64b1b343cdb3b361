// The adapters' own behaviour over the in-memory port, through a raw gRPC client: limits
// (etcd's "request is too large", gRPC's receive limit), linearizable vs serializable reads
// (did the read take the barrier?), read-only txns served without a proposal, the health
// service, require-leader watches, watch progress notifications driven by the FakeClock,
// fragments, cancel of unknown ids, membership calls and maintenance answers.
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Metadata, status } from '@grpc/grpc-js';
import {
  Cluster, Compare_CompareResult, Compare_CompareTarget, KV, Maintenance, Watch,
} from '../../../src/gen/etcdserverpb/rpc_pb.js';
import type { SnapshotResponse } from '../../../src/gen/etcdserverpb/rpc_pb.js';
import { Health, HealthCheckResponse_ServingStatus } from '../../../src/gen/grpc/health/v1/health_pb.js';
import { backendHash, unalignSnapshot } from '../../../src/server/api/maintenance-service.js';
import { writeSnapshot } from '../../../src/storage/backend/index.js';
import { RawClient } from './support/raw-client.js';
import { startApi, type RunningApi } from './support/api-server.js';
import { CONCLAVE_VERSION } from '../../../src/server/version.js';

const b = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));
const running: Array<{ api: RunningApi; client: RawClient }> = [];

async function setup(options: Parameters<typeof startApi>[0] = {}): Promise<{ api: RunningApi; client: RawClient }> {
  const api = await startApi(options);
  const client = new RawClient(api.endpoint);
  running.push({ api, client });
  return { api, client };
}

afterEach(async () => {
  for (const { api, client } of running.splice(0)) {
    client.close();
    await api.stop();
  }
});

describe('limits', () => {
  it('refuses a proposal above max request bytes with etcd text, and gRPC refuses above the receive limit', async () => {
    const { api, client } = await setup();
    const tooLarge = await client.unary(KV.method.put, { key: b('big'), value: new Uint8Array(1.5 * 1024 * 1024) });
    expect(tooLarge).toEqual({ error: { code: status.INVALID_ARGUMENT, details: 'etcdserver: request is too large' } });
    const fits = await client.unary(KV.method.put, { key: b('big'), value: new Uint8Array(1.5 * 1024 * 1024 - 64) });
    expect('ok' in fits).toBe(true);
    const overReceive = await client.unary(KV.method.put, { key: b('big'), value: new Uint8Array(2 * 1024 * 1024 + 1) });
    expect('error' in overReceive && overReceive.error.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(api.port.counters.proposals).toBe(1);
  });

  it('takes a configured max request bytes', async () => {
    const { client } = await setup({ server: { maxRequestBytes: 1024 } });
    expect(await client.unary(KV.method.put, { key: b('k'), value: new Uint8Array(2000) })).toEqual({ error: { code: status.INVALID_ARGUMENT, details: 'etcdserver: request is too large' } });
    expect('ok' in (await client.unary(KV.method.put, { key: b('k'), value: new Uint8Array(900) }))).toBe(true);
  });
});

describe('reads', () => {
  it('takes the read barrier for linearizable reads only, and serves read-only txns without proposing', async () => {
    const { api, client } = await setup();
    await client.unary(KV.method.put, { key: b('r'), value: b('1') });
    const before = { ...api.port.counters };
    await client.unary(KV.method.range, { key: b('r') });
    expect(api.port.counters.readBarriers).toBe(before.readBarriers + 1);
    await client.unary(KV.method.range, { key: b('r'), serializable: true });
    expect(api.port.counters.readBarriers).toBe(before.readBarriers + 1);
    const compare = [{ key: b('r'), target: Compare_CompareTarget.VERSION, result: Compare_CompareResult.EQUAL, targetUnion: { case: 'version' as const, value: 1n } }];
    const readOnly = await client.unary(KV.method.txn, { compare, success: [{ request: { case: 'requestRange', value: { key: b('r') } } }] });
    expect('ok' in readOnly && readOnly.ok.succeeded).toBe(true);
    expect(api.port.counters.readBarriers).toBe(before.readBarriers + 2);
    await client.unary(KV.method.txn, { compare, success: [{ request: { case: 'requestRange', value: { key: b('r'), serializable: true } } }] });
    expect(api.port.counters.readBarriers).toBe(before.readBarriers + 2);
    expect(api.port.counters.proposals).toBe(before.proposals);
    await client.unary(KV.method.txn, { compare, success: [{ request: { case: 'requestPut', value: { key: b('r'), value: b('2') } } }] });
    expect(api.port.counters.proposals).toBe(before.proposals + 1);
  });
});

describe('wire edge cases', () => {
  it('treats revisions beyond the safe integer range as future revisions', async () => {
    const { client } = await setup();
    expect(await client.unary(KV.method.range, { key: b('k'), revision: 1n << 62n })).toEqual({ error: { code: status.OUT_OF_RANGE, details: 'etcdserver: mvcc: required revision is a future revision' } });
    expect(await client.unary(KV.method.compact, { revision: (1n << 63n) - 1n })).toEqual({ error: { code: status.OUT_OF_RANGE, details: 'etcdserver: mvcc: required revision is a future revision' } });
  });

  it('streams a snapshot in 32 KiB pieces with remaining_bytes, then its SHA-256', async () => {
    const { api, client } = await setup();
    for (let i = 0; i < 100; i += 1) await client.unary(KV.method.put, { key: b(`s/${i}`), value: new Uint8Array(1024).fill(i) });
    const stream = client.serverStream(Maintenance.method.snapshot, {});
    const pieces: SnapshotResponse[] = [];
    for (;;) {
      const piece = await stream.next().catch(() => undefined);
      if (piece === undefined) break;
      pieces.push(piece);
    }
    expect(stream.status).toBe('eof');
    const body = Buffer.concat(pieces.slice(0, -1).map((p) => p.blob));
    expect(pieces.length).toBeGreaterThan(3);
    expect(pieces.slice(0, -2).every((p) => p.blob.length === 32 * 1024)).toBe(true);
    expect(pieces.slice(0, -1).map((p) => p.remainingBytes)).toEqual(pieces.slice(0, -1).map((_, i) => BigInt(body.length - pieces.slice(0, i + 1).reduce((n, p) => n + p.blob.length, 0))));
    const last = pieces.at(-1)!;
    expect(last.remainingBytes).toBe(0n);
    expect(Buffer.from(last.blob).equals(createHash('sha256').update(body).digest())).toBe(true);
    expect(Buffer.from(unalignSnapshot(Buffer.concat([body, last.blob]))).equals(Buffer.concat([...writeSnapshot(api.port.store.backend, 4096)]))).toBe(true);
  });
});

describe('health', () => {
  it('answers SERVING for the server and NotFound for unknown services', async () => {
    const { client } = await setup();
    expect(await client.unary(Health.method.check, {})).toMatchObject({ ok: { status: HealthCheckResponse_ServingStatus.SERVING } });
    expect(await client.unary(Health.method.check, { service: 'nope' })).toEqual({ error: { code: status.NOT_FOUND, details: 'unknown service' } });
  });
});

describe('guards', () => {
  it('answers "no leader" to calls that require a leader while there is none', async () => {
    const { api, client } = await setup();
    api.port.hasLeader = false;
    const metadata = new Metadata();
    metadata.set('hasleader', 'true');
    expect(await client.unary(KV.method.put, { key: b('k'), value: b('v') }, 10_000, metadata)).toEqual({ error: { code: status.UNAVAILABLE, details: 'etcdserver: no leader' } });
    expect('ok' in (await client.unary(KV.method.put, { key: b('k'), value: b('v') }))).toBe(true);
  });

  it('serves only Status and serializable Range on a learner', async () => {
    const { api, client } = await setup();
    api.port.learner = true;
    const refused = { error: { code: status.UNAVAILABLE, details: 'etcdserver: rpc not supported for learner' } };
    expect(await client.unary(KV.method.put, { key: b('k'), value: b('v') })).toEqual(refused);
    expect(await client.unary(KV.method.range, { key: b('k') })).toEqual(refused);
    expect('ok' in (await client.unary(KV.method.range, { key: b('k'), serializable: true }))).toBe(true);
    expect('ok' in (await client.unary(Maintenance.method.status, {}))).toBe(true);
    const stream = client.duplex(Watch.method.watch);
    await expect(stream.next()).rejects.toThrow(/not supported for learner/);
    expect(stream.status).toEqual(refused.error);
    expect(await client.unary(Health.method.check, {})).toMatchObject({ ok: { status: HealthCheckResponse_ServingStatus.SERVING } });
  });
});

describe('leader monitor', () => {
  it('ends require-leader streams after three election timeouts without a leader, and only those', async () => {
    const { api, client } = await setup();
    const metadata = new Metadata();
    metadata.set('hasleader', 'true');
    const required = client.duplex(Watch.method.watch, metadata);
    const plain = client.duplex(Watch.method.watch);
    for (const stream of [required, plain]) {
      stream.send({ requestUnion: { case: 'createRequest', value: { key: b('m') } } });
      expect((await stream.next()).created).toBe(true);
    }
    api.port.hasLeader = false;
    api.port.clock.advance(2_000); // leaderless for less than 3 s: nothing happens
    await client.unary(KV.method.put, { key: b('m'), value: b('1') });
    expect((await required.next()).events).toHaveLength(1);
    api.port.clock.advance(2_000);
    await expect(required.next()).rejects.toThrow(/stream ended/);
    expect(required.status).toEqual({ code: status.UNAVAILABLE, details: 'etcdserver: no leader' });
    await client.unary(KV.method.put, { key: b('m'), value: b('2') });
    expect((await plain.next()).events).toHaveLength(1);
    expect((await plain.next()).events).toHaveLength(1);
    plain.close();
  });

  it('keeps require-leader streams when the leader comes back in time', async () => {
    const { api, client } = await setup();
    const metadata = new Metadata();
    metadata.set('hasleader', 'true');
    const stream = client.duplex(Watch.method.watch, metadata);
    stream.send({ requestUnion: { case: 'createRequest', value: { key: b('n') } } });
    expect((await stream.next()).created).toBe(true);
    api.port.hasLeader = false;
    api.port.clock.advance(2_000);
    api.port.hasLeader = true;
    api.port.clock.advance(1_000);
    api.port.hasLeader = false;
    api.port.clock.advance(2_000);
    await client.unary(KV.method.put, { key: b('n'), value: b('1') });
    expect((await stream.next()).events).toHaveLength(1);
    expect(stream.status).toBeUndefined();
    stream.close();
  });
});

describe('watch streams', () => {
  it('refuses a require-leader stream without a leader', async () => {
    const { api, client } = await setup();
    api.port.hasLeader = false;
    const metadata = new Metadata();
    metadata.set('hasleader', 'true');
    const stream = client.duplex(Watch.method.watch, metadata);
    await expect(stream.next()).rejects.toThrow(/etcdserver: no leader/);
    expect(stream.status).toEqual({ code: status.UNAVAILABLE, details: 'etcdserver: no leader' });
  });

  it('sends progress notifications on the fake clock only to synced watchers that asked and saw no events', async () => {
    const { api, client } = await setup({ server: { progressIntervalMs: 60_000 } });
    const stream = client.duplex(Watch.method.watch);
    stream.send({ requestUnion: { case: 'createRequest', value: { key: b('p/'), rangeEnd: b('p0'), progressNotify: true } } });
    stream.send({ requestUnion: { case: 'createRequest', value: { key: b('q') } } });
    expect((await stream.next()).created).toBe(true);
    expect((await stream.next()).watchId).toBe(1n);
    await client.unary(KV.method.put, { key: b('p/1'), value: b('x') });
    expect((await stream.next()).events).toHaveLength(1);
    api.port.clock.advance(60_000); // events since the last tick: no notification
    api.port.clock.advance(60_000);
    const progress = await stream.next();
    expect(progress).toMatchObject({ watchId: 0n, events: [], created: false, canceled: false });
    expect(progress.header!.revision).toBe(BigInt(api.port.store.currentRevision));
    expect(stream.pending()).toBe(0);
    stream.close();
  });

  it('splits a large revision into fragments for a watcher that allows it', async () => {
    const { client } = await setup({ port: { maxResponseBytes: 1000 } });
    const stream = client.duplex(Watch.method.watch);
    stream.send({ requestUnion: { case: 'createRequest', value: { key: b('f/'), rangeEnd: b('f0'), fragment: true } } });
    stream.send({ requestUnion: { case: 'createRequest', value: { key: b('f/'), rangeEnd: b('f0') } } });
    await stream.next();
    await stream.next();
    const success = Array.from({ length: 4 }, (_, i) => ({ request: { case: 'requestPut' as const, value: { key: b(`f/${i}`), value: new Uint8Array(400) } } }));
    await client.unary(KV.method.txn, { success });
    const responses = [await stream.next(), await stream.next(), await stream.next()];
    const fragmented = responses.filter((r) => r.watchId === 0n);
    const whole = responses.filter((r) => r.watchId === 1n);
    expect(whole).toHaveLength(1);
    expect(whole[0]!.events).toHaveLength(4);
    if (fragmented.length < 2) fragmented.push(await stream.next());
    while (fragmented.reduce((n, r) => n + r.events.length, 0) < 4) fragmented.push(await stream.next());
    expect(fragmented.length).toBeGreaterThan(1);
    expect(fragmented.map((r) => r.fragment)).toEqual([...fragmented.slice(1).map(() => true), false]);
    stream.close();
  });

  it('ignores a cancel of an unknown id and keeps numbering', async () => {
    const { client } = await setup();
    const stream = client.duplex(Watch.method.watch);
    stream.send({ requestUnion: { case: 'cancelRequest', value: { watchId: 42n } } });
    stream.send({ requestUnion: { case: 'createRequest', value: { key: b('c') } } });
    const created = await stream.next();
    expect(created).toMatchObject({ watchId: 0n, created: true, canceled: false });
    stream.close();
  });
});

describe('cluster and maintenance', () => {
  it('adds, lists, promotes and removes members, with etcd errors for bad URLs and unknown ids', async () => {
    const { api, client } = await setup();
    expect(await client.unary(Cluster.method.memberAdd, { peerURLs: ['not a url'] })).toEqual({ error: { code: status.INVALID_ARGUMENT, details: 'etcdserver: given member URLs are invalid' } });
    expect(await client.unary(Cluster.method.memberAdd, { peerURLs: ['http://127.0.0.1'] })).toMatchObject({ error: { code: status.INVALID_ARGUMENT } });
    const added = await client.unary(Cluster.method.memberAdd, { peerURLs: ['http://127.0.0.1:2390'], isLearner: true });
    if (!('ok' in added)) throw new Error(JSON.stringify(added));
    const id = added.ok.member!.ID;
    expect(added.ok.members.map((m) => m.ID)).toEqual([id, api.port.memberId].sort((x, y) => (x < y ? -1 : 1)));
    await client.unary(Cluster.method.memberPromote, { ID: id });
    const list = await client.unary(Cluster.method.memberList, { linearizable: true });
    expect('ok' in list && list.ok.members.find((m) => m.ID === id)?.isLearner).toBe(false);
    expect(await client.unary(Cluster.method.memberPromote, { ID: id })).toEqual({ error: { code: status.FAILED_PRECONDITION, details: 'etcdserver: can only promote a learner member' } });
    await client.unary(Cluster.method.memberRemove, { ID: id });
    expect(await client.unary(Cluster.method.memberRemove, { ID: id })).toEqual({ error: { code: status.NOT_FOUND, details: 'etcdserver: member not found' } });
  });

  it('answers status, hash, alarms and move-leader from the port', async () => {
    const { api, client } = await setup();
    await client.unary(KV.method.put, { key: b('k'), value: b('v') });
    const statusResponse = await client.unary(Maintenance.method.status, {});
    expect(statusResponse).toMatchObject({ ok: { version: CONCLAVE_VERSION, leader: api.port.memberId, raftAppliedIndex: 1n, isLearner: false } });
    expect(await client.unary(Maintenance.method.hash, {})).toMatchObject({ ok: { hash: backendHash(api.port) } });
    const activated = await client.unary(Maintenance.method.alarm, { action: 1, memberID: api.port.memberId, alarm: 1 });
    expect('ok' in activated && activated.ok.alarms).toMatchObject([{ memberID: api.port.memberId, alarm: 1 }]);
    expect(api.port.alarms()).toEqual([{ memberId: api.port.memberId, alarm: 1 }]);
    expect(await client.unary(Maintenance.method.moveLeader, { targetID: 5n })).toEqual({ error: { code: status.FAILED_PRECONDITION, details: 'etcdserver: bad leader transferee' } });
  });
});
