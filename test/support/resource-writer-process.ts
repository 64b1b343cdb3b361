/**
 * A lock holder that writes to a resource key in batches, for the lock-delay safety test.
 * Usage: node --import tsx resource-writer-process.ts <endpoint> <lock name> <ttlSeconds> <resource key>
 * Takes the lock, writes `<resource>` once and prints {"event":"mid-batch"}; then waits for a
 * "continue" line on stdin and writes the rest of the batch (two more puts) without checking
 * the lock (writes already in flight when it was paused), and prints {"event":"batch-done",
 * "revisions":[...],"aborted":..}. Every line is JSON.
 */
import { createInterface } from 'node:readline';
import { Client } from '../../src/client/index.js';
import { Session } from '../../src/lease/index.js';
import { Mutex } from '../../src/lock/index.js';

const [endpoint, name, ttl, resource] = process.argv.slice(2);
const say = (fields: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(fields, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
};

async function main(): Promise<void> {
  const client = new Client({ endpoints: [endpoint!] });
  const session = await Session.create(client, { ttlSeconds: Number(ttl) });
  const held = await new Mutex(session, name!).lock();
  say({ event: 'held', token: held.token, key: held.key, lease: session.leaseId });
  const revisions: bigint[] = [(await client.put(resource!, 'holder:1')).header.revision];
  say({ event: 'mid-batch' });
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.trim() !== 'continue') continue;
    for (const i of [2, 3]) revisions.push((await client.put(resource!, `holder:${i}`)).header.revision);
    say({ event: 'batch-done', revisions, aborted: held.signal.aborted });
    lines.close();
  }
  client.destroy();
}

void main().catch((error: unknown) => say({ event: 'failed', message: String(error) }));
