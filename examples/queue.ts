/**
 * A priority work queue consumed at least once: a worker that dies mid-item gives the item
 * back (its session lease ends), and another worker finishes it.
 *
 *   ETCD_ENDPOINTS=127.0.0.1:2379 npx tsx examples/queue.ts
 * In your project, import from 'conclave' instead of '../src/index.js'.
 */
import { Client, PriorityQueue } from '../src/index.js';

const endpoints = (process.env.ETCD_ENDPOINTS ?? '127.0.0.1:2379').split(',');
const namespace = `examples/queue-${process.pid}/`;
await using producer = new Client({ endpoints, namespace });
const jobs = new PriorityQueue(producer, 'jobs');
await jobs.enqueue('resize photo', 5);
await jobs.enqueue('send invoice', 1);
await jobs.enqueue('page on-call', 0);

// Worker A takes the most urgent job and dies before finishing it.
const crashing = new Client({ endpoints, namespace });
const sessionA = await crashing.session({ ttlSeconds: 10 });
const taken = await new PriorityQueue(crashing, 'jobs').receive({ session: sessionA });
console.log(`worker A took: ${taken.value}`);
await sessionA.close(); // the crash: its lease is gone, so is its claim
crashing.destroy();

// Worker B drains the queue, acknowledging each job.
await using worker = new Client({ endpoints, namespace });
const sessionB = await worker.session({ ttlSeconds: 10 });
const done: string[] = [];
const controller = new AbortController();
for await (const delivery of new PriorityQueue(worker, 'jobs').consume({ session: sessionB, signal: controller.signal })) {
  done.push(delivery.value);
  await delivery.ack();
  if (done.length === 3) break;
}
console.log(`worker B did: ${done.join(', ')}`);
console.log(`left in queue: ${await jobs.size()}`);
await producer.delete('\0').fromKey();
