/**
 * The conformance suite of the recipes added after the first wave (Counter, STM, Queue,
 * PriorityQueue, lock-delay, bounded holds, introspection), registered against the same
 * targets as suite.ts (embedded, 3 processes, 1 member, real etcd 3.4). Each test works in
 * its own namespace and waits for states, never for durations.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/client/index.js';
import { FakeClock } from '../../src/base/index.js';
import { Mutex, RWMutex, Semaphore } from '../../src/lock/index.js';
import type { ExpiryWarning, HandoffInfo, HeldLock } from '../../src/lock/index.js';
import { Session } from '../../src/lease/index.js';
import { Counter, stmWithResult } from '../../src/stm/index.js';
import { PriorityQueue, Queue } from '../../src/queue/index.js';
import { Election } from '../../src/election/index.js';
import type { ConformanceTarget, RunningTarget } from './targets.js';
import { waitFor } from '../support/wait.js';

interface RecipeContext {
  client(ns: string): Client;
  freshNamespace(): string;
  sessions(ns: string, count: number, ttlSeconds?: number): Promise<Session[]>;
}

export function defineRecipeConformance(target: ConformanceTarget): void {
  const skip = target.unavailable();
  describe.skipIf(skip !== undefined)(`recipe conformance: ${target.name}`, () => {
    let running: RunningTarget;
    let namespaceCounter = 0;
    const clients: Client[] = [];

    const context: RecipeContext = {
      client(ns) {
        const c = new Client({ ...running.connection, namespace: `${ns}/`, retry: { retries: 6, minDelayMs: 20, maxDelayMs: 500 } });
        clients.push(c);
        return c;
      },
      freshNamespace() {
        namespaceCounter += 1;
        return `recipes-${namespaceCounter}`;
      },
      sessions(ns, count, ttlSeconds = 10) {
        return Promise.all(Array.from({ length: count }, () => Session.create(context.client(ns), { ttlSeconds })));
      },
    };
    const { client, freshNamespace, sessions } = context;

    beforeAll(async () => {
      running = await target.start();
    });

    afterAll(async () => {
      await Promise.all(clients.map((c) => c.close()));
      await running?.stop();
    });

    describe('Counter and STM', () => {
      it('concurrent increments from 4 clients are all counted', async () => {
        const ns = freshNamespace();
        const counters = Array.from({ length: 4 }, () => new Counter(client(ns), 'n'));
        await Promise.all(counters.map(async (c) => {
          for (let i = 0; i < 10; i += 1) await c.increment();
        }));
        expect(await counters[0]!.get()).toBe(40n);
      });

      it('a conflicting write makes the transaction run again; a throwing body writes nothing', async () => {
        const ns = freshNamespace();
        const c = client(ns);
        const other = client(ns);
        await c.put('x', '1');
        const result = await stmWithResult(c, async (tx) => {
          const x = Number(await tx.get('x'));
          if (tx.attempt === 1) await other.put('x', '10');
          tx.put('y', String(x * 2));
          return x;
        });
        expect(result).toMatchObject({ value: 10, attempts: 2 });
        expect(await c.get('y').string()).toBe('20');
        await expect(stmWithResult(c, async (tx) => {
          tx.put('z', '1');
          throw new Error('no');
        })).rejects.toThrow('no');
        expect(await c.get('z').string()).toBeUndefined();
        await expect(stmWithResult(c, async (tx) => {
          await tx.get('x');
          await other.put('x', String(Math.random()));
        }, { maxAttempts: 2 })).rejects.toMatchObject({ code: 'ERR_STM_CONFLICT' });
      });
    });

    describe('lock-delay and bounded holds', () => {
      it('lock-delay: a clean unlock hands off at once; a revoked holder makes the next one wait out the delay', async () => {
        const ns = freshNamespace();
        const [s1, s2, s3] = await sessions(ns, 3);
        const clock = new FakeClock();
        const handoffs: HandoffInfo[] = [];
        const delayed = (s: Session): Mutex => new Mutex(s, 'm', { lockDelayMs: 10_000, clock, onHandoff: (h) => handoffs.push(h) });
        const first = await delayed(s1!).lock();
        const second = delayed(s2!).lock();
        await waitFor(async () => expect((await s1!.client.get('m/').prefix()).kvs).toHaveLength(2));
        await first.unlock();
        const secondHeld = await second;
        // Read at once, as a holder hands it to its work: the first read starts the ownership watch.
        const secondSignal = secondHeld.signal;
        expect(handoffs).toMatchObject([{ cause: 'released', delayedMs: 0, key: first.key }]);
        let thirdHeld: HeldLock | undefined;
        const third = delayed(s3!).lock().then((h) => (thirdHeld = h));
        await waitFor(async () => expect((await s1!.client.get('m/').prefix()).kvs).toHaveLength(2));
        await s1!.client.leaseRevoke(s2!.leaseId);
        // Loss seen: the grant is held back on the fake clock until the delay has passed.
        await waitFor(() => expect(clock.pendingTimers()).toBe(1));
        await waitFor(() => expect(secondSignal.aborted).toBe(true));
        clock.advance(9_999);
        expect(thirdHeld).toBeUndefined();
        clock.advance(1);
        await third;
        expect(handoffs[1]).toMatchObject({ cause: 'lost', delayedMs: 10_000, key: secondHeld.key, lease: s2!.leaseId });
        expect(thirdHeld!.token).toBeGreaterThan(secondHeld.token);
        await thirdHeld!.unlock();
        expect(() => new Mutex(s3!, 'm', { lockDelayMs: -1 })).toThrow(/lockDelayMs/);
      });

      it('maxHoldMs: warns, then aborts the signal with ERR_LOCK_HOLD_EXPIRED and hands the lock on', async () => {
        const ns = freshNamespace();
        const [s1, s2] = await sessions(ns, 2);
        const clock = new FakeClock();
        const warnings: ExpiryWarning[] = [];
        const held = await new Mutex(s1!, 'm', { clock }).lock({ maxHoldMs: 1_000, warnBeforeMs: 200, onExpiryWarning: (w) => warnings.push(w) });
        const next = new Mutex(s2!, 'm').lock();
        await waitFor(async () => expect((await s1!.client.get('m/').prefix()).kvs).toHaveLength(2));
        clock.advance(799);
        expect(warnings).toEqual([]);
        clock.advance(1);
        expect(warnings).toEqual([{ key: held.key, token: held.token, remainingMs: 200 }]);
        expect(held.held).toBe(true);
        clock.advance(200);
        expect(held.signal.reason).toMatchObject({ code: 'ERR_LOCK_HOLD_EXPIRED' });
        const nextHeld = await next;
        expect(nextHeld.token).toBeGreaterThan(held.token);
        await nextHeld.unlock();
        // An unlock before the bound cancels both timers.
        const early = await new Mutex(s1!, 'm', { clock }).lock({ maxHoldMs: 1_000, onExpiryWarning: () => warnings.push({ key: 'x', token: 0n, remainingMs: 0 }) });
        await early.unlock();
        expect(clock.pendingTimers()).toBe(0);
        await expect(new Mutex(s1!, 'm').lock({ warnBeforeMs: 5 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
      });

      it('maxHoldMs on RWMutex and Semaphore', async () => {
        const ns = freshNamespace();
        const [s1] = await sessions(ns, 1);
        const read = await new RWMutex(s1!, 'rw').readLock({ maxHoldMs: 60_000 });
        const permit = await new Semaphore(s1!, 'sem', 2).acquire({ maxHoldMs: 60_000 });
        await read.unlock();
        await permit.unlock();
        expect((await s1!.client.get('rw/').prefix()).kvs).toHaveLength(0);
      });
    });

    describe('introspection', () => {
      it('Mutex holder() and waiters() in queue order with waiting- and held-since revisions', async () => {
        const ns = freshNamespace();
        const ss = await sessions(ns, 3);
        const mutex = new Mutex(ss[0]!, 'm');
        expect(await mutex.holder()).toBeUndefined();
        const first = await mutex.lock();
        const second = new Mutex(ss[1]!, 'm').lock();
        await waitFor(async () => expect(await mutex.waiters()).toHaveLength(1));
        const third = new Mutex(ss[2]!, 'm').lock();
        await waitFor(async () => expect(await mutex.waiters()).toHaveLength(2));
        const snapshot = await mutex.inspect();
        expect(snapshot.holders).toEqual([{ key: first.key, token: first.token, lease: ss[0]!.leaseId, waitingSinceRevision: first.token, heldSinceRevision: first.token }]);
        expect(snapshot.waiters.map((w) => w.lease)).toEqual([ss[1]!.leaseId, ss[2]!.leaseId]);
        expect(snapshot.waiters[0]!.waitingSinceRevision).toBeLessThan(snapshot.waiters[1]!.waitingSinceRevision);
        const release = await first.unlock().then(() => ss[0]!.client.get('m/').prefix());
        const secondHeld = await second;
        const holder = await mutex.holder();
        expect(holder).toMatchObject({ key: secondHeld.key, token: secondHeld.token });
        // It became the holder when the first key was deleted: after it queued, by the time we looked.
        expect(holder!.heldSinceRevision).toBeGreaterThan(secondHeld.token);
        expect(holder!.heldSinceRevision).toBeLessThanOrEqual(release.header.revision);
        await secondHeld.unlock();
        await (await third).unlock();
      });

      it('RWMutex and Semaphore holders/waiters; Election candidates', async () => {
        const ns = freshNamespace();
        const ss = await sessions(ns, 3);
        const r1 = await new RWMutex(ss[0]!, 'rw').readLock();
        const w = new RWMutex(ss[1]!, 'rw').writeLock();
        const rw = new RWMutex(ss[2]!, 'rw');
        await waitFor(async () => expect(await rw.waiters()).toHaveLength(1));
        const r2 = rw.readLock();
        await waitFor(async () => expect(await rw.waiters()).toHaveLength(2));
        expect((await rw.holders()).map((h) => [h.mode, h.lease])).toEqual([['read', ss[0]!.leaseId]]);
        expect((await rw.waiters()).map((h) => [h.mode, h.lease])).toEqual([['write', ss[1]!.leaseId], ['read', ss[2]!.leaseId]]);
        await r1.unlock();
        await (await w).unlock();
        await (await r2).unlock();

        const sem = new Semaphore(ss[0]!, 's', 2);
        const p1 = await sem.acquire();
        const p2 = await new Semaphore(ss[1]!, 's', 2).acquire();
        const p3 = new Semaphore(ss[2]!, 's', 2).acquire();
        await waitFor(async () => expect(await sem.waiters()).toHaveLength(1));
        expect((await sem.holders()).map((h) => h.token)).toEqual([p1.token, p2.token]);
        await p1.unlock();
        await p2.unlock();
        await (await p3).unlock();

        const lead = await new Election(ss[0]!, 'e').campaign('one');
        const other = new Election(ss[1]!, 'e').campaign('two');
        const election = new Election(ss[2]!, 'e');
        await waitFor(async () => expect(await election.candidates()).toHaveLength(2));
        expect((await election.candidates()).map((c) => [c.value, c.leader, c.lease])).toEqual([['one', true, ss[0]!.leaseId], ['two', false, ss[1]!.leaseId]]);
        await lead.resign();
        await (await other).resign();
        expect(await election.candidates()).toEqual([]);
      });
    });

    describe('Queue and PriorityQueue', () => {
      it('FIFO order; blocking dequeue wakes on enqueue and aborts cleanly', async () => {
        const ns = freshNamespace();
        const queue = new Queue(client(ns), 'q');
        for (const v of ['a', 'b', 'c']) await queue.enqueue(v);
        expect([await queue.dequeue(), await queue.dequeue(), await queue.dequeue()]).toEqual(['a', 'b', 'c']);
        expect(await queue.tryDequeue()).toBeUndefined();
        const waiting = queue.dequeue();
        await waitFor(() => expect(queue.client.streamStats().watchers).toBeGreaterThan(0));
        await new Queue(client(ns), 'q').enqueue('late');
        expect(await waiting).toBe('late');
        const controller = new AbortController();
        const aborted = queue.dequeue({ signal: controller.signal });
        controller.abort(new Error('stop'));
        await expect(aborted).rejects.toThrow('stop');
        expect(await queue.size()).toBe(0);
      });

      it('at least once: an unacknowledged item comes back after the visibility timeout or a nack; a late ack fails', async () => {
        const ns = freshNamespace();
        const queue = new Queue(client(ns), 'q');
        await queue.enqueue('job-1');
        await queue.enqueue('job-2');
        const first = await queue.receive({ visibilityTimeoutMs: 1_000 });
        expect(first.value).toBe('job-1');
        // While job-1 is claimed, the next receive gets job-2.
        const [s] = await sessions(ns, 1);
        const second = await queue.receive({ session: s! });
        expect(second.value).toBe('job-2');
        await second.nack();
        const again = await queue.receive({ session: s! });
        expect(again.value).toBe('job-2');
        await again.ack();
        // job-1's claim lease expires on the server: it is delivered again.
        const redelivered = await queue.receive({ session: s! });
        expect(redelivered.value).toBe('job-1');
        expect(redelivered.claimRevision).toBeGreaterThan(first.claimRevision);
        await expect(first.ack()).rejects.toMatchObject({ code: 'ERR_QUEUE_DELIVERY_EXPIRED' });
        await redelivered.ack();
        expect(await queue.size()).toBe(0);
        await expect(queue.receive({} as never)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
      }, 30_000);

      it('priority order, FIFO within a priority, etcd recipe key layout', async () => {
        const ns = freshNamespace();
        const c = client(ns);
        const queue = new PriorityQueue(c, 'pq');
        await queue.enqueue('low-1', 5);
        await queue.enqueue('high-1', 1);
        await queue.enqueue('low-2', 5);
        await queue.enqueue('high-2', 1);
        const keys = (await c.get('pq/').prefix().sort('key')).kvs.map((kv) => kv.key);
        expect(keys).toEqual(['pq/00001/0000000000000000', 'pq/00001/0000000000000001', 'pq/00005/0000000000000000', 'pq/00005/0000000000000001']);
        const out: string[] = [];
        for (let i = 0; i < 4; i += 1) out.push(await queue.dequeue());
        expect(out).toEqual(['high-1', 'high-2', 'low-1', 'low-2']);
        // Sequence numbers are not reused after a priority drains.
        expect((await queue.enqueue('high-3', 1)).key).toBe('pq/00001/0000000000000002');
        await expect(queue.enqueue('x', 70_000)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
      });
    });
  });
}
