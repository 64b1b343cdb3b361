// Method: real etcd 3.4 and a Conclave member (test/support/primitive-checks.ts runs the suite on each); each test uses its own lock name and its own clients/sessions.
// Exclusion and FIFO order are checked through the order in which concurrent lock() calls
// resolve and through the server's keys; loss is provoked by deleting a holder's key or
// revoking a waiter's lease with a separate admin client.
import { expect, it } from 'vitest';
import { Client } from '../../src/client/index.js';
import { Session } from '../../src/lease/index.js';
import { Mutex } from '../../src/lock/index.js';
import type { HeldLock } from '../../src/lock/index.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { checkUncontendedNeedsNoWatch, checkWaitersShareOneStream, describeOnEveryTarget } from '../support/primitive-checks.js';
import { waitFor } from '../support/wait.js';

describeOnEveryTarget('Mutex', (fx) => {
  const session = (ttlSeconds?: number): Promise<Session> => fx.session(ttlSeconds);
  const keysUnder = (prefix: string): Promise<string[]> => fx.keysUnder(prefix);

  it('uses etcd key layout and grants in FIFO order with increasing tokens', async () => {
    const [s1, s2, s3] = await Promise.all([session(), session(), session()]);
    const first = await new Mutex(s1, 'm1').lock();
    expect(first.key).toBe(`m1/${s1.leaseId.toString(16)}`);
    const kv = (await fx.admin.get(first.key)).kvs[0]!;
    expect(kv.createRevision).toBe(first.token);
    expect(kv.lease).toBe(s1.leaseId);
    expect(kv.value).toBe('');
    const order: string[] = [];
    const second = new Mutex(s2, 'm1').lock().then((held) => (order.push('s2'), held));
    await waitFor(async () => expect(await keysUnder('m1/')).toHaveLength(2));
    const third = new Mutex(s3, 'm1').lock().then((held) => (order.push('s3'), held));
    await waitFor(async () => expect(await keysUnder('m1/')).toHaveLength(3));
    expect(order).toEqual([]);
    await first.unlock();
    const held2 = await second;
    expect(order).toEqual(['s2']);
    expect(held2.token).toBeGreaterThan(first.token);
    await held2.unlock();
    const held3 = await third;
    expect(order).toEqual(['s2', 's3']);
    expect(held3.token).toBeGreaterThan(held2.token);
    await held3.unlock();
    expect(await keysUnder('m1/')).toEqual([]);
  });

  it('queues callers sharing one session locally: never two holders at once', async () => {
    const s = await session();
    let holders = 0;
    let maxHolders = 0;
    const tokens: bigint[] = [];
    await Promise.all([0, 1, 2, 3].map(async () => {
      const held = await new Mutex(s, 'm2').lock();
      holders += 1;
      maxHolders = Math.max(maxHolders, holders);
      tokens.push(held.token);
      await new Promise((resolve) => setTimeout(resolve, 10));
      holders -= 1;
      await held.unlock();
    }));
    expect(maxHolders).toBe(1);
    expect(new Set(tokens).size).toBe(4);
  });

  it('gives up on timeout or abort and removes its key', async () => {
    const [s1, s2] = await Promise.all([session(), session()]);
    const held = await new Mutex(s1, 'm3').lock();
    await expect(new Mutex(s2, 'm3').lock({ timeoutMs: 200 })).rejects.toMatchObject({ code: 'ERR_LOCK_TIMEOUT' });
    expect(await keysUnder('m3/')).toEqual([held.key]);
    const controller = new AbortController();
    const reason = new Error('not any more');
    const waiting = new Mutex(s2, 'm3').lock({ signal: controller.signal });
    await waitFor(async () => expect(await keysUnder('m3/')).toHaveLength(2));
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    expect(await keysUnder('m3/')).toEqual([held.key]);
    expect(held.held).toBe(true);
    await held.unlock();
  });

  it('tryLock answers null while held and a lock when free', async () => {
    const [s1, s2] = await Promise.all([session(), session()]);
    const held = await new Mutex(s1, 'm4').tryLock();
    expect(held).not.toBeNull();
    expect(await new Mutex(s2, 'm4').tryLock()).toBeNull();
    expect(await new Mutex(s1, 'm4').tryLock()).toBeNull();
    expect(await keysUnder('m4/')).toEqual([held!.key]);
    await held!.unlock();
    const next = await new Mutex(s2, 'm4').tryLock();
    expect(next?.token).toBeGreaterThan(held!.token);
    await next!.unlock();
  });

  it('aborts the held signal when the key is deleted, and ifOwner() then fails', async () => {
    const s = await session();
    const held = await new Mutex(s, 'm5').lock();
    const guarded = await s.client.txn().if(held.ifOwner()).do(s.client.put('m5-data', 'v1'));
    expect(guarded.succeeded).toBe(true);
    await fx.admin.delete(held.key);
    await waitFor(() => expect(held.held).toBe(false));
    expect(held.signal.reason).toMatchObject({ code: 'ERR_LOCK_LOST' });
    const late = await s.client.txn().if(held.ifOwner()).do(s.client.put('m5-data', 'v2'));
    expect(late.succeeded).toBe(false);
    await held.unlock();
  });

  it('a waiter whose session expires rejects with ERR_SESSION_EXPIRED', async () => {
    const [s1, s2] = await Promise.all([session(), session()]);
    const held = await new Mutex(s1, 'm6').lock();
    const waiting = new Mutex(s2, 'm6').lock();
    await waitFor(async () => expect(await keysUnder('m6/')).toHaveLength(2));
    await fx.admin.leaseRevoke(s2.leaseId);
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_SESSION_EXPIRED' });
    await held.unlock();
  });

  it('a waiter whose key goes in the same delete as its predecessor key does not report holding', async () => {
    const [s1, s2, s3] = await Promise.all([session(), session(), session()]);
    const held = await new Mutex(s1, 'm6b').lock();
    const waiting = new Mutex(s2, 'm6b').lock();
    await waitFor(async () => expect(await keysUnder('m6b/')).toHaveLength(2));
    // One revision removes both keys: the waiter's predecessor wait ends, and either its
    // own-key watch or the read that follows (which must find its own key) stops it.
    await fx.admin.delete('m6b/').prefix();
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_SESSION_EXPIRED' });
    expect(await keysUnder('m6b/')).toEqual([]);
    // The lock is free for the next contender, with a larger token than the first holder's.
    const next = await new Mutex(s3, 'm6b').lock();
    expect(next.token > held.token).toBe(true);
    await next.unlock();
  });

  it('a waiter whose predecessor watch falls behind a compaction re-reads and keeps waiting', async () => {
    const [host, port] = fx.endpoints[0]!.split(':');
    const proxy = new TcpProxy(host!, Number(port));
    await proxy.start();
    const partitioned = new Client({ endpoints: [proxy.endpoint], keepAliveIntervalMs: 5_000 });
    fx.adopt(partitioned);
    try {
      const holderSession = await session();
      const waiterSession = await Session.create(partitioned, { ttlSeconds: 30 });
      const held = await new Mutex(holderSession, 'm8').lock();
      const waiting = new Mutex(waiterSession, 'm8').lock();
      await waitFor(async () => expect(await keysUnder('m8/')).toHaveLength(2));
      // The waiter watches its own key and its predecessor.
      await waitFor(() => expect(partitioned.streamStats().watchers).toBe(2));
      // Cut the waiter off, move the store on and compact past its resume point.
      proxy.blocked = true;
      proxy.cutAll();
      let last = 0n;
      for (let i = 0; i < 5; i += 1) last = (await fx.admin.put(`m8-noise/${i}`, 'x')).header.revision;
      await fx.admin.compact(last);
      proxy.blocked = false;
      // Once reconnected, the waiter's watch from its old revision is compacted: it must
      // re-read its predecessor (still there) and go on waiting, not fail.
      await waitFor(() => expect(partitioned.streamStats().watchStreams).toBeGreaterThan(1));
      await held.unlock();
      const next = await waiting;
      expect(next.token).toBeGreaterThan(held.token);
      await next.unlock();
    } finally {
      await proxy.stop();
    }
  });

  it('works with await using and reports the holder', async () => {
    const s = await session();
    const mutex = new Mutex(s, 'm7');
    let inside: HeldLock | undefined;
    {
      await using lock = await mutex.lock();
      inside = lock;
      expect(await mutex.holder()).toEqual({ key: lock.key, token: lock.token, lease: s.leaseId, waitingSinceRevision: lock.token, heldSinceRevision: lock.token });
    }
    expect(inside.held).toBe(false);
    expect(inside.signal.reason).toMatchObject({ code: 'ERR_LOCK_RELEASED' });
    expect(await mutex.holder()).toBeUndefined();
  });

  it('an uncontended lock+unlock creates no watch', async () => {
    await checkUncontendedNeedsNoWatch(fx, 'm9', (s, name) => new Mutex(s, name).lock());
  });

  it('waiters on one client share its one watch stream', async () => {
    await checkWaitersShareOneStream(fx, 'm10', (s, name) => new Mutex(s, name).lock());
  });
});
