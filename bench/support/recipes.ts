/**
 * Recipe workloads for the SDK bench: Queue throughput (items enqueued and acknowledged per
 * second, at least once, 4 producers and 4 consumers on separate clients) and STM transfers
 * per second (4 clients moving money between 8 accounts, serializable, counting conflicts).
 * Each runs for `seconds` against the given endpoints, in its own namespace.
 */
import { Client } from '../../src/client/index.js';
import { Session } from '../../src/lease/index.js';
import { Queue } from '../../src/queue/index.js';
import { stmWithResult } from '../../src/stm/index.js';

export interface RecipeRow {
  readonly name: string;
  readonly perSecond: number;
  readonly note: string;
}

export async function queueThroughput(endpoints: string[], seconds: number): Promise<{ perSecond: number; note: string }> {
  const namespace = `bench-queue-${process.pid}/`;
  const clients = Array.from({ length: 8 }, () => new Client({ endpoints, namespace }));
  const stop = new AbortController();
  let acked = 0;
  try {
    const producers = clients.slice(0, 4).map(async (c, p) => {
      const queue = new Queue(c, 'q');
      for (let i = 0; !stop.signal.aborted; i += 1) await queue.enqueue(`${p}:${i}`).catch(() => {});
    });
    const consumers = clients.slice(4).map(async (c) => {
      const session = await Session.create(c, { ttlSeconds: 10 });
      const queue = new Queue(c, 'q');
      try {
        for (;;) {
          const delivery = await queue.receive({ session, signal: stop.signal });
          await delivery.ack();
          acked += 1;
        }
      } catch {
        // Stopped.
      }
    });
    const startedAt = performance.now();
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const elapsed = (performance.now() - startedAt) / 1000;
    const done = acked;
    stop.abort();
    await Promise.all([...producers, ...consumers]);
    await clients[0]!.delete('\0').fromKey();
    return { perSecond: done / elapsed, note: `${done} items acknowledged; 4 producers, 4 consumers (at least once, session claims)` };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

export async function stmThroughput(endpoints: string[], seconds: number): Promise<{ perSecond: number; note: string }> {
  const namespace = `bench-stm-${process.pid}/`;
  const clients = Array.from({ length: 4 }, () => new Client({ endpoints, namespace }));
  const accounts = Array.from({ length: 8 }, (_, i) => `acct/${i}`);
  await clients[0]!.txn().do(...accounts.map((a) => clients[0]!.put(a, '1000')));
  let committed = 0;
  let attempts = 0;
  const endAt = performance.now() + seconds * 1000;
  const startedAt = performance.now();
  try {
    await Promise.all(clients.map(async (c, w) => {
      for (let i = 0; performance.now() < endAt; i += 1) {
        const from = accounts[(w + i) % accounts.length]!;
        const to = accounts[(w * 3 + i * 5 + 1) % accounts.length]!;
        if (from === to) continue;
        const result = await stmWithResult(c, async (tx) => {
          const a = Number(await tx.get(from));
          const b = Number(await tx.get(to));
          tx.put(from, String(a - 1));
          tx.put(to, String(b + 1));
        }, { isolation: 'serializable' });
        committed += 1;
        attempts += result.attempts;
      }
    }));
    const elapsed = (performance.now() - startedAt) / 1000;
    await clients[0]!.delete('\0').fromKey();
    return { perSecond: committed / elapsed, note: `${committed} transfers, ${(attempts / Math.max(1, committed)).toFixed(2)} attempts each; 4 clients, 8 accounts, serializable` };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}
