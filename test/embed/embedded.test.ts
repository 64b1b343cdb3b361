// An embedded member and the SDK talking to it in-process (no socket, no serialization): KV,
// a watch, a session lease and a Mutex, the way an application embedding Conclave uses them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMember } from '../../src/embed/index.js';
import type { EmbeddedMember } from '../../src/embed/index.js';
import { Mutex } from '../../src/lock/index.js';

let dataDir: string;
let member: EmbeddedMember;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'conclave-embedded-'));
  member = await startMember({ dataDir, listenClientUrls: ['http://127.0.0.1:0'], listenPeerUrls: ['http://127.0.0.1:0'], initialCluster: 'default=http://127.0.0.1:1', initialAdvertisePeerUrls: ['http://127.0.0.1:1'], heartbeatIntervalMs: 20, electionTimeoutMs: 200 });
});

afterAll(async () => {
  await member?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('embedded member with an in-process client', () => {
  it('serves KV, watch, leases and locks without the network', async () => {
    await using client = member.client();
    await client.put('greeting', 'hello');
    const value = await client.get('greeting').string();
    expect(value).toBe('hello');

    const watcher = client.watch('jobs/', { prefix: true });
    await client.put('jobs/1', 'queued');
    const event = await watcher.next();
    expect(event.done).toBe(false);
    expect(event.value!.type).toBe('put');
    expect(event.value!.kv.key).toBe('jobs/1');
    await watcher.return?.();

    const session = await client.session({ ttlSeconds: 5 });
    const held = await new Mutex(session, 'orders').lock();
    expect(typeof held.token).toBe('bigint');
    expect(held.key.startsWith('orders/')).toBe(true);
    await held.unlock();
    await session.close();
  }, 30_000);
});
