/**
 * The conformance suite of the recipes added after the first wave (Counter, STM, Queue,
 * PriorityQueue, lock-delay, bounded holds, introspection), registered against the same
 * targets as suite.ts (embedded, 3 processes, 1 member, real etcd 3.4). Each test works in
 * its own namespace and waits for states, never for durations.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/client/index.js';
import { Session } from '../../src/lease/index.js';
import { Counter, stmWithResult } from '../../src/stm/index.js';
import { PriorityQueue, Queue } from '../../src/queue/index.js';
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
