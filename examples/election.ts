/**
 * Leader election: one observer prints every leader (and "no leader"); two candidates take
 * turns. Runs against etcd or Conclave; `etcdctl elect -l examples/workers` sees the same.
 *
 *   ETCD_ENDPOINTS=127.0.0.1:2379 npx tsx examples/election.ts
 */
import { Client, Election } from '../src/index.js';

const endpoints = (process.env.ETCD_ENDPOINTS ?? '127.0.0.1:2379').split(',');
await using client = new Client({ endpoints });
const observerSession = await client.session({ ttlSeconds: 10 });
const stop = new AbortController();
const seen: string[] = [];
let changes = 0;
let firstSeen!: () => void;
const observing = new Promise<void>((resolve) => (firstSeen = resolve));
const printed = new Promise<void>((resolve) => {
  void (async () => {
    try {
      for await (const leader of new Election(observerSession, 'examples/workers').observe({ signal: stop.signal })) {
        seen.push(leader === null ? '(no leader)' : leader.value);
        console.log(`observer: ${leader === null ? 'no leader' : `${leader.value} (token ${leader.token})`}`);
        if (++changes === 1) firstSeen();
        if (changes === 4) resolve();
      }
    } catch {
      // stopped
    }
  })();
});

await observing;
const s1 = await client.session({ ttlSeconds: 10 });
const s2 = await client.session({ ttlSeconds: 10 });
const node1 = await new Election(s1, 'examples/workers').campaign('node-1');
const waitingNode2 = new Election(s2, 'examples/workers').campaign('node-2');
// Let node-2 queue up behind node-1, so leadership passes straight from one to the other.
while ((await client.get('examples/workers/').prefix()).kvs.length < 2) await new Promise((r) => setTimeout(r, 10));
await node1.proclaim('node-1 (v2)');
await node1.resign();
const node2 = await waitingNode2;
// node-2 keeps leading until the observer has seen it take over (a slow observer re-reading
// after node-2 also resigned would see nobody).
await printed;
await node2.resign();
stop.abort();
console.log(`observed: ${seen.join(' -> ')}`);
