/**
 * Lock-delay, bounded holds, introspection and event hooks on one Mutex name: A holds and
 * dies (its session is revoked), so B is granted only after the lock-delay; B takes the lock
 * with a bound and is released when it passes, after a warning.
 *
 *   ETCD_ENDPOINTS=127.0.0.1:2379 npx tsx examples/lock-features.ts
 * In your project, import from 'conclave' instead of '../src/index.js'.
 */
import { Client, Mutex, onConclaveEvent } from '../src/index.js';
import type { ConclaveEvent } from '../src/index.js';

const endpoints = (process.env.ETCD_ENDPOINTS ?? '127.0.0.1:2379').split(',');
await using client = new Client({ endpoints, namespace: `examples/lock-features-${process.pid}/` });
const events: ConclaveEvent['type'][] = [];
const stopEvents = onConclaveEvent((event) => events.push(event.type));

const sessionA = await client.session({ ttlSeconds: 10 });
await using sessionB = await client.session({ ttlSeconds: 10 });
const lockA = await new Mutex(sessionA, 'jobs', { lockDelayMs: 1_500 }).lock();
const mutexB = new Mutex(sessionB, 'jobs', {
  lockDelayMs: 1_500,
  onHandoff: (h) => console.log(`hand-off from a ${h.cause} holder, held back ${h.delayedMs > 0 ? 'until the delay passed' : 'not at all'}`),
});
const waiting = mutexB.lock({
  maxHoldMs: 500, warnBeforeMs: 200,
  onExpiryWarning: ({ remainingMs }) => console.log(`warning: releasing in ${remainingMs} ms`),
});
while ((await mutexB.waiters()).length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
const snapshot = await mutexB.inspect();
console.log(`holder is A: ${snapshot.holders[0]?.lease === sessionA.leaseId}; waiters: ${snapshot.waiters.length}`);

await sessionA.close(); // A dies holding the lock: its lease is revoked
const lockB = await waiting;
console.log(`A's lock lost: ${lockA.signal.reason.code}`);
await new Promise((resolve) => lockB.signal.addEventListener('abort', resolve, { once: true }));
console.log(`B released by its bound: ${lockB.signal.reason.code}`);
stopEvents();
console.log(`events: ${[...new Set(events.filter((e) => e.startsWith('lock.')))].sort().join(' ')}`);
