/**
 * A lock with a fencing token: two workers take turns on the same lock; the protected resource
 * (here an in-memory ledger guarded by FencingGuard) rejects a write carrying an old token.
 *
 *   ETCD_ENDPOINTS=127.0.0.1:2379 npx tsx examples/mutex.ts
 * In your project, import from 'conclave' instead of '../src/index.js'.
 */
import { Client, FencingGuard, Mutex, StaleTokenError } from '../src/index.js';

const endpoints = (process.env.ETCD_ENDPOINTS ?? '127.0.0.1:2379').split(',');
await using client = new Client({ endpoints });
const guard = new FencingGuard();
const ledger: string[] = [];

function write(entry: string, token: bigint): void {
  guard.check('ledger', token); // the resource side: refuse tokens older than the newest seen
  ledger.push(entry);
}

await using sessionA = await client.session({ ttlSeconds: 10 });
await using sessionB = await client.session({ ttlSeconds: 10 });

const first = await new Mutex(sessionA, 'examples/ledger').lock({ timeoutMs: 10_000 });
write('A: opening balance', first.token);
await first.unlock();

{
  await using second = await new Mutex(sessionB, 'examples/ledger').lock({ timeoutMs: 10_000 });
  write('B: payment', second.token);
  console.log(`B holds ${second.key} with token ${second.token} (A had ${first.token})`);
}

try {
  write('A: late write after losing the lock', first.token);
} catch (error) {
  if (!(error instanceof StaleTokenError)) throw error;
  console.log(`stale write rejected: ${error.code}`);
}
console.log(`ledger: ${ledger.join(' | ')}`);
