/**
 * Software transactional memory: four clerks move money between two accounts at the same
 * time; conflicting transactions are retried, so the total never changes and no transfer is
 * lost. A Counter counts the transfers.
 *
 *   ETCD_ENDPOINTS=127.0.0.1:2379 npx tsx examples/bank-transfer.ts
 * In your project, import from 'conclave' instead of '../src/index.js'.
 */
import { Client, Counter, stmWithResult } from '../src/index.js';

const endpoints = (process.env.ETCD_ENDPOINTS ?? '127.0.0.1:2379').split(',');
await using client = new Client({ endpoints, namespace: `examples/bank-${process.pid}/` });
await client.put('accounts/alice', '500');
await client.put('accounts/bob', '500');
const transfers = new Counter(client, 'transfers');

async function clerk(from: string, to: string, amount: number): Promise<number> {
  const { attempts } = await stmWithResult(client, async (tx) => {
    const source = Number(await tx.get(`accounts/${from}`));
    const target = Number(await tx.get(`accounts/${to}`));
    tx.put(`accounts/${from}`, String(source - amount));
    tx.put(`accounts/${to}`, String(target + amount));
  }, { isolation: 'serializable' });
  await transfers.increment();
  return attempts;
}

const attempts = await Promise.all([
  clerk('alice', 'bob', 30), clerk('bob', 'alice', 10), clerk('alice', 'bob', 5), clerk('bob', 'alice', 45),
]);
const alice = Number(await client.get('accounts/alice').string());
const bob = Number(await client.get('accounts/bob').string());
console.log(`attempts per transfer: ${attempts.join(' ')}`);
console.log(`alice ${alice}, bob ${bob}, total ${alice + bob}`);
console.log(`transfers counted: ${await transfers.get()}`);
await client.delete('\0').fromKey();
