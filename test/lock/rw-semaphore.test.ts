// Method: a real etcd member; contenders are separate sessions. Concurrency limits are checked
// through which acquire() calls have resolved at each step (and the keys on the server), and
// FIFO order by checking that a late reader queues behind a waiting writer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/client/index.js';
import { Session } from '../../src/lease/index.js';
import { RWMutex, Semaphore } from '../../src/lock/index.js';
import type { HeldLock } from '../../src/lock/index.js';
import { missingBinaries } from '../support/binaries.js';
import { startEtcd } from '../support/etcd.js';
import type { EtcdCluster } from '../support/etcd.js';
import { waitFor } from '../support/wait.js';

const skip = missingBinaries('etcd');

function track(promise: Promise<HeldLock>): { done: () => boolean; held: Promise<HeldLock> } {
  let resolved = false;
  const held = promise.then((h) => ((resolved = true), h));
  return { done: () => resolved, held };
}

describe.skipIf(skip !== undefined)('RWMutex and Semaphore against etcd', () => {
  let etcd: EtcdCluster;
  let admin: Client;
  const clients: Client[] = [];

  async function session(): Promise<Session> {
    const client = new Client({ endpoints: etcd.endpoints });
    clients.push(client);
    return Session.create(client, { ttlSeconds: 10 });
  }

  async function count(prefix: string): Promise<number> {
    return (await admin.get(prefix).prefix()).kvs.length;
  }

  beforeAll(async () => {
    etcd = await startEtcd();
    admin = new Client({ endpoints: etcd.endpoints });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await admin?.close();
    await etcd?.stop();
  });

  it('readers share, a writer waits for them, and a later reader queues behind the writer', async () => {
    const [s1, s2, s3, s4] = await Promise.all([session(), session(), session(), session()]);
    const r1 = await new RWMutex(s1, 'rw1').readLock();
    const r2 = await new RWMutex(s2, 'rw1').readLock();
    const writer = track(new RWMutex(s3, 'rw1').writeLock());
    await waitFor(async () => expect(await count('rw1/write/')).toBe(1));
    const lateReader = track(new RWMutex(s4, 'rw1').readLock());
    await waitFor(async () => expect(await count('rw1/read/')).toBe(3));
    await r1.unlock();
    expect(writer.done()).toBe(false);
    await r2.unlock();
    const w = await writer.held;
    expect(w.token).toBeGreaterThan(r2.token);
    expect(lateReader.done()).toBe(false);
    await w.unlock();
    const r4 = await lateReader.held;
    expect(r4.token).toBeGreaterThan(w.token);
    await r4.unlock();
    expect(await count('rw1/')).toBe(0);
  });

  it('a semaphore admits at most its permit count, in FIFO order', async () => {
    const sessions = await Promise.all([session(), session(), session(), session()]);
    const [a, b, c, d] = sessions.map((s) => new Semaphore(s, 'sem1', 2));
    const ha = await a!.acquire();
    const hb = await b!.acquire();
    const third = track(c!.acquire());
    await waitFor(async () => expect(await count('sem1/')).toBe(3));
    const fourth = track(d!.acquire());
    await waitFor(async () => expect(await count('sem1/')).toBe(4));
    expect(third.done() || fourth.done()).toBe(false);
    await hb.unlock();
    const hc = await third.held;
    expect(fourth.done()).toBe(false);
    expect((await a!.contenders()).slice(0, 2)).toEqual([ha.key, hc.key]);
    await ha.unlock();
    const hd = await fourth.held;
    expect(hd.token).toBeGreaterThan(hc.token);
    await expect(new Semaphore(sessions[0]!, 'sem1', 2).acquire({ timeoutMs: 150 })).rejects.toMatchObject({ code: 'ERR_LOCK_TIMEOUT' });
    await Promise.all([hc.unlock(), hd.unlock()]);
    expect(await count('sem1/')).toBe(0);
    expect(() => new Semaphore(sessions[0]!, 'sem1', 0)).toThrow(expect.objectContaining({ option: 'permits' }));
  });
});
