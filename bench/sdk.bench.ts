/**
 * SDK lock benchmark: acquire/release cycles per second (one uncontended holder looping) and
 * hand-off latency (time from the holder's unlock() call to the waiter's lock() resolving,
 * two holders alternating) for:
 *   - our Mutex on Conclave (1 member, `conclave server` as its own process, memory engine)
 *   - our Mutex on etcd 3.4 (1 member, fsync on, started here)
 *   - our RedisMutex on redis-server (started here, no persistence)
 *   - the `redlock` package (v4) on the same redis-server
 * and, side by side on Conclave and etcd, Queue throughput (at least once) and STM transfers
 * per second (bench/support/recipes.ts).
 * Usage: npm run bench -- sdk [--seconds=N]  (default 3 s per measurement)
 */
import { createRequire } from 'node:module';
import { Client } from '../src/client/index.js';
import { Session } from '../src/lease/index.js';
import { Mutex } from '../src/lock/index.js';
import { RedisMutex } from '../src/lock/redis/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE_LOADER_ARGS, RUNTIME_DESCRIPTION, scriptPath } from './support/runtime.js';
import { startEtcd } from '../test/support/etcd.js';
import { freePorts } from '../test/support/ports.js';
import { ManagedProcess } from '../test/support/process.js';
import { startRedis } from '../test/support/redis.js';
import { queueThroughput, stmThroughput } from './support/recipes.js';
import type { RecipeRow } from './support/recipes.js';

interface RedlockLock { unlock(): Promise<void> }
interface RedlockInstance { lock(resource: string, ttlMs: number): Promise<RedlockLock>; on(event: string, fn: (e: unknown) => void): void }
type RedlockConstructor = new (clients: unknown[], options: Record<string, number>) => RedlockInstance;
const Redlock = createRequire(import.meta.url)('redlock') as RedlockConstructor;

const secondsArg = process.argv.find((arg) => arg.startsWith('--seconds='));
const seconds = secondsArg === undefined ? 3 : Number(secondsArg.split('=')[1]);

interface Locker {
  lock(): Promise<{ unlock(): Promise<void> }>;
}

interface Row {
  name: string;
  cyclesPerSecond: number | undefined;
  handoffP50Ms: number | undefined;
  handoffP99Ms: number | undefined;
  note: string;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function cycles(locker: Locker): Promise<number> {
  const endAt = performance.now() + seconds * 1000;
  let count = 0;
  const startedAt = performance.now();
  while (performance.now() < endAt) {
    const held = await locker.lock();
    await held.unlock();
    count += 1;
  }
  return count / ((performance.now() - startedAt) / 1000);
}

/** Two lockers alternate: A holds, B waits; A unlocks; we time until B holds; then swap. */
async function handoff(a: Locker, b: Locker): Promise<number[]> {
  const samples: number[] = [];
  const endAt = performance.now() + seconds * 1000;
  let holder = await a.lock();
  let [current, other] = [a, b];
  while (performance.now() < endAt) {
    let resolvedAt = 0;
    const waiting = other.lock().then((h) => ((resolvedAt = performance.now()), h));
    // Give the waiter time to queue (an etcd put is fsynced) before releasing: we time a
    // hand-off to a waiting contender, not a race between two acquirers.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const releasedAt = performance.now();
    await holder.unlock();
    holder = await waiting;
    samples.push(resolvedAt - releasedAt);
    [current, other] = [other, current];
  }
  await holder.unlock();
  return samples.sort((x, y) => x - y);
}

async function measure(name: string, single: Locker, pair: [Locker, Locker], note: string): Promise<Row> {
  const perSecond = await cycles(single);
  const samples = await handoff(pair[0], pair[1]);
  return { name, cyclesPerSecond: perSecond, handoffP50Ms: percentile(samples, 50), handoffP99Ms: percentile(samples, 99), note: `${note}; ${samples.length} hand-offs` };
}

/** `conclave server` as its own process (one member), ready once it reports a leader. */
async function startConclave(): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const [clientPort, peerPort] = await freePorts(2);
  const dataDir = mkdtempSync(join(tmpdir(), 'conclave-bench-'));
  const main = scriptPath(import.meta.url, '../src/cli/main.ts');
  const server = new ManagedProcess(process.execPath, [
    ...NODE_LOADER_ARGS, main, 'server', '--data-dir', dataDir, '--log-level', 'error',
    '--listen-client-urls', `http://127.0.0.1:${clientPort}`, '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
  ]);
  const endpoint = `127.0.0.1:${clientPort}`;
  const probe = new Client({ endpoints: [endpoint], retry: { retries: 0 } });
  try {
    for (let attempt = 0; ; attempt += 1) {
      if (!server.running) throw new Error(`conclave server exited: ${server.log}`);
      const leader = await probe.status({ timeoutMs: 500 }).then((s) => s.leader, () => 0n);
      if (leader !== 0n) break;
      if (attempt > 200) throw new Error(`conclave server not ready: ${server.log}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    probe.destroy();
  }
  return {
    endpoint,
    async stop() {
      await server.kill();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function measureMutex(name: string, endpoints: string[], note: string): Promise<Row> {
  const clients = [0, 1].map(() => new Client({ endpoints }));
  try {
    const sessions = await Promise.all(clients.map((c) => Session.create(c, { ttlSeconds: 10 })));
    const mutexLocker = (s: Session): Locker => ({ lock: () => new Mutex(s, 'bench/mutex').lock() });
    return await measure(name, mutexLocker(sessions[0]!), [mutexLocker(sessions[0]!), mutexLocker(sessions[1]!)], note);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const recipeRows: RecipeRow[] = [];
  const measureRecipes = async (system: string, endpoints: string[]): Promise<void> => {
    const queue = await queueThroughput(endpoints, seconds);
    recipeRows.push({ name: `Queue items/s on ${system}`, ...queue });
    const stm = await stmThroughput(endpoints, seconds);
    recipeRows.push({ name: `STM transactions/s on ${system}`, ...stm });
  };
  try {
    const conclave = await startConclave();
    try {
      rows.push(await measureMutex('Mutex on Conclave (1 member)', [conclave.endpoint], `FIFO, predecessor watch; conclave server process, default engine, ${RUNTIME_DESCRIPTION}`));
      await measureRecipes('Conclave (1 member)', [conclave.endpoint]);
    } finally {
      await conclave.stop();
    }
  } catch (error) {
    // The server is developed alongside; report its row as failed rather than losing the others.
    rows.push({ name: 'Mutex on Conclave (1 member)', cyclesPerSecond: undefined, handoffP50Ms: undefined, handoffP99Ms: undefined, note: `failed: ${String(error).slice(0, 120)}` });
  }
  const etcd = await startEtcd();
  const redis = await startRedis();
  try {
    rows.push(await measureMutex('Mutex on etcd 3.4 (1 member)', etcd.endpoints, 'FIFO, predecessor watch'));
    await measureRecipes('etcd 3.4 (1 member)', etcd.endpoints);

    const r1 = redis.connect();
    const r2 = redis.connect();
    const redisLocker = (conn: typeof r1): Locker => ({ lock: () => new RedisMutex(conn, 'bench', { ttlMs: 10_000 }).lock() });
    rows.push(await measure('RedisMutex on redis', redisLocker(r1), [redisLocker(r1), redisLocker(r2)], 'pub/sub wake-up'));

    const redlockOptions = { driftFactor: 0.01, retryCount: 10_000, retryDelay: 10, retryJitter: 5 };
    const rl1 = new Redlock([r1], redlockOptions);
    const rl2 = new Redlock([r2], redlockOptions);
    for (const rl of [rl1, rl2]) rl.on('clientError', () => {});
    const redlockLocker = (rl: RedlockInstance): Locker => ({ lock: () => rl.lock('bench:redlock', 10_000) });
    rows.push(await measure('redlock 4.2.0 on redis', redlockLocker(rl1), [redlockLocker(rl1), redlockLocker(rl2)], 'polling, retryDelay 10 ms + jitter 5'));
  } finally {
    await redis.stop();
    await etcd.stop();
  }
  const fmt = (n: number | undefined, digits: number): string => (n === undefined ? 'n/a' : n.toFixed(digits));
  console.log(`\nlock benchmark (${seconds} s per measurement, loopback, 2-core machine)\n`);
  console.log('| lock | acquire+release cycles/s | hand-off p50 ms | hand-off p99 ms | notes |');
  console.log('| --- | ---: | ---: | ---: | --- |');
  for (const row of rows) {
    console.log(`| ${row.name} | ${fmt(row.cyclesPerSecond, 0)} | ${fmt(row.handoffP50Ms, 2)} | ${fmt(row.handoffP99Ms, 2)} | ${row.note} |`);
  }
  console.log(`\nrecipe benchmark (${seconds} s per measurement; Conclave and etcd side by side)\n`);
  console.log('| workload | per second | notes |');
  console.log('| --- | ---: | --- |');
  for (const row of recipeRows) console.log(`| ${row.name} | ${row.perSecond.toFixed(0)} | ${row.note} |`);
}

await main();
