/**
 * Embedded benchmark: Conclave inside the application's own process (`conclave/server`'s
 * startMember, 1 member, fsync on, memory engine) reached through `member.client()` (the
 * in-process channel: no socket, no HTTP/2, no serialization), against the same SDK calls on a
 * networked 1-member etcd 3.4 (fsync on) started by this run, side by side:
 *   - Mutex lock+unlock cycles per second (one session, one holder looping; two fsynced writes
 *     per cycle on either system);
 *   - contended hand-off: two sessions alternate on one Mutex; the time from the holder's
 *     unlock() call to the waiting one's lock() resolving (p50/p99);
 *   - get/s: linearizable and serializable gets of one key, one at a time and 64 in flight.
 * Usage: npm run bench -- embedded [--seconds=N] [--quick]  (default 3 s per measurement; --quick 1 s)
 * The load average is printed before and after: numbers on a busy machine are noisy, ratios
 * measured in the same run are what count.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '../src/client/index.js';
import { startMember } from '../src/embed/index.js';
import { Session } from '../src/lease/index.js';
import { Mutex } from '../src/lock/index.js';
import { startEtcd } from '../test/support/etcd.js';
import { freePorts } from '../test/support/ports.js';
import { loadAverage } from './support/measure.js';
import { RUNTIME_DESCRIPTION } from './support/runtime.js';

const args = process.argv.slice(2);
const secondsArg = args.find((arg) => arg.startsWith('--seconds='));
const seconds = secondsArg !== undefined ? Number(secondsArg.split('=')[1]) : args.includes('--quick') ? 1 : 3;
if (!(seconds > 0)) throw new Error('--seconds must be a positive number');
const GET_IN_FLIGHT = 64;

interface Measures {
  lockCyclesPerSecond: number;
  handoffP50Ms: number;
  handoffP99Ms: number;
  handoffs: number;
  getLinearizable: GetRate;
  getSerializable: GetRate;
  getLinearizable64: GetRate;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function lockCycles(session: Session): Promise<number> {
  const mutex = new Mutex(session, 'bench/embedded-mutex');
  for (let i = 0; i < 20; i++) await (await mutex.lock()).unlock();
  const startedAt = performance.now();
  const endAt = startedAt + seconds * 1000;
  let count = 0;
  while (performance.now() < endAt) {
    const held = await mutex.lock();
    await held.unlock();
    count += 1;
  }
  return count / ((performance.now() - startedAt) / 1000);
}

/** Two sessions alternate: A holds, B waits; A unlocks; timed until B holds; then swap. */
async function handoff(a: Session, b: Session): Promise<number[]> {
  const lockers = [new Mutex(a, 'bench/embedded-handoff'), new Mutex(b, 'bench/embedded-handoff')] as const;
  const samples: number[] = [];
  let holder = await lockers[0].lock();
  let next = 1;
  const endAt = performance.now() + seconds * 1000;
  while (performance.now() < endAt) {
    let resolvedAt = 0;
    const waiting = lockers[next]!.lock().then((held) => ((resolvedAt = performance.now()), held));
    // Let the waiter queue first (its put is fsynced): a hand-off to a waiting contender is
    // timed, not a race between two acquirers.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const releasedAt = performance.now();
    await holder.unlock();
    holder = await waiting;
    samples.push(resolvedAt - releasedAt);
    next = 1 - next;
  }
  await holder.unlock();
  return samples.sort((x, y) => x - y);
}

interface GetRate {
  readonly perSecond: number;
  /** This process's CPU (user + system) per get: client and server for the embedded member, the client alone for etcd. */
  readonly cpuMicrosPerGet: number;
}

async function getsPerSecond(client: Client, serializable: boolean, inFlight: number): Promise<GetRate> {
  await client.put('bench/embedded-get', 'v');
  const one = (): Promise<unknown> => (serializable ? client.get('bench/embedded-get').serializable().string() : client.get('bench/embedded-get').string());
  for (let i = 0; i < 200; i++) await one();
  const startedAt = performance.now();
  const cpuBefore = process.cpuUsage();
  const endAt = startedAt + seconds * 1000;
  let count = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (performance.now() < endAt) {
      await one();
      count += 1;
    }
  }));
  const cpu = process.cpuUsage(cpuBefore);
  return { perSecond: count / ((performance.now() - startedAt) / 1000), cpuMicrosPerGet: (cpu.user + cpu.system) / count };
}

async function measure(clients: readonly [Client, Client]): Promise<Measures> {
  const sessions = await Promise.all(clients.map((c) => Session.create(c, { ttlSeconds: 10 })));
  try {
    const lockCyclesPerSecond = await lockCycles(sessions[0]!);
    const samples = await handoff(sessions[0]!, sessions[1]!);
    return {
      lockCyclesPerSecond,
      handoffP50Ms: percentile(samples, 50),
      handoffP99Ms: percentile(samples, 99),
      handoffs: samples.length,
      getLinearizable: await getsPerSecond(clients[0], false, 1),
      getSerializable: await getsPerSecond(clients[0], true, 1),
      getLinearizable64: await getsPerSecond(clients[0], false, GET_IN_FLIGHT),
    };
  } finally {
    await Promise.all(sessions.map((s) => s.close().catch(() => undefined)));
  }
}

async function measureEmbedded(): Promise<Measures> {
  const [clientPort, peerPort] = await freePorts(2);
  const dataDir = mkdtempSync(join(tmpdir(), 'conclave-bench-embedded-'));
  const member = await startMember({
    dataDir,
    listenClientUrls: [`http://127.0.0.1:${clientPort}`],
    listenPeerUrls: [`http://127.0.0.1:${peerPort}`],
  });
  try {
    for (let attempt = 0; member.status().leader === 0n; attempt++) {
      if (attempt > 400) throw new Error('the embedded member elected no leader');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const clients = [member.client(), member.client()] as const;
    try {
      return await measure(clients);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  } finally {
    await member.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function measureEtcd(): Promise<Measures> {
  const etcd = await startEtcd();
  try {
    const clients = [new Client({ endpoints: etcd.endpoints }), new Client({ endpoints: etcd.endpoints })] as const;
    try {
      return await measure(clients);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  } finally {
    await etcd.stop();
  }
}

async function main(): Promise<void> {
  const loadBefore = loadAverage();
  const embedded = await measureEmbedded();
  const etcd = await measureEtcd();
  const loadAfter = loadAverage();
  const n = (value: number, digits = 0): string => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
  const ratio = (a: number, b: number): string => (b > 0 && Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : 'n/a');
  console.log(`\nembedded benchmark (${seconds} s per measurement; Conclave in this process via member.client(), 1 member, memory engine, fsync on, ${RUNTIME_DESCRIPTION}; etcd 3.4 1 member over loopback gRPC, fsync on; load avg ${loadBefore} before, ${loadAfter} after)\n`);
  console.log('| measure | Conclave embedded | etcd (network) | Conclave / etcd |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(`| Mutex lock+unlock cycles/s (one session) | ${n(embedded.lockCyclesPerSecond)} | ${n(etcd.lockCyclesPerSecond)} | ${ratio(embedded.lockCyclesPerSecond, etcd.lockCyclesPerSecond)} |`);
  console.log(`| contended hand-off p50 ms (two sessions) | ${n(embedded.handoffP50Ms, 2)} | ${n(etcd.handoffP50Ms, 2)} | ${ratio(etcd.handoffP50Ms, embedded.handoffP50Ms)} faster |`);
  console.log(`| contended hand-off p99 ms | ${n(embedded.handoffP99Ms, 2)} | ${n(etcd.handoffP99Ms, 2)} | ${ratio(etcd.handoffP99Ms, embedded.handoffP99Ms)} faster |`);
  const gets: Array<[string, keyof Pick<Measures, 'getLinearizable' | 'getSerializable' | 'getLinearizable64'>]> = [
    ['linearizable get/s, 1 in flight', 'getLinearizable'], ['serializable get/s, 1 in flight', 'getSerializable'], [`linearizable get/s, ${GET_IN_FLIGHT} in flight`, 'getLinearizable64'],
  ];
  for (const [label, key] of gets) console.log(`| ${label} | ${n(embedded[key].perSecond)} | ${n(etcd[key].perSecond)} | ${ratio(embedded[key].perSecond, etcd[key].perSecond)} |`);
  for (const [label, key] of gets) console.log(`| ${label.replace('get/s', 'CPU µs per get')} (embedded: client + server; etcd: client only) | ${n(embedded[key].cpuMicrosPerGet, 1)} | ${n(etcd[key].cpuMicrosPerGet, 1)} | |`);
  console.log(`\nhand-offs timed: ${embedded.handoffs} embedded, ${etcd.handoffs} etcd (each waits 20 ms for the waiter to queue; the wait is not timed)`);
}

await main();
