// Method: every file in examples/ is run as its own process (node --import tsx) against a real
// etcd (and redis-server for the Redis example) started here; each must exit 0 and print the
// lines that show it did what its header says.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingBinaries } from '../support/binaries.js';
import { startEtcd } from '../support/etcd.js';
import type { EtcdCluster } from '../support/etcd.js';
import { startRedis } from '../support/redis.js';
import type { RedisServer } from '../support/redis.js';

const skip = missingBinaries('etcd', 'redis-server');

function run(example: string, env: Record<string, string>): Promise<string> {
  const path = fileURLToPath(new URL(`../../examples/${example}`, import.meta.url));
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', path], { env: { ...process.env, ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${example} failed: ${stderr || String(error)}`));
      else resolve(stdout);
    });
  });
}

describe.skipIf(skip !== undefined)('examples/', () => {
  let etcd: EtcdCluster;
  let redis: RedisServer;

  beforeAll(async () => {
    [etcd, redis] = await Promise.all([startEtcd(), startRedis()]);
  });

  afterAll(async () => {
    await Promise.all([etcd?.stop(), redis?.stop()]);
  });

  it('mutex.ts: the stale write is rejected', async () => {
    const out = await run('mutex.ts', { ETCD_ENDPOINTS: etcd.endpoints.join(',') });
    expect(out).toContain('stale write rejected: ERR_STALE_FENCING_TOKEN');
    expect(out).toContain('ledger: A: opening balance | B: payment');
  });

  it('election.ts: the observer sees both leaders and the gaps', async () => {
    const out = await run('election.ts', { ETCD_ENDPOINTS: etcd.endpoints.join(',') });
    expect(out).toContain('observed: (no leader) -> node-1 -> node-1 (v2) -> node-2');
  });

  it('discovery.ts: lists, picks round-robin, sets a failed instance aside', async () => {
    const out = await run('discovery.ts', { ETCD_ENDPOINTS: etcd.endpoints.join(',') });
    expect(out).toContain('instances: a@10.0.0.1:8080, b@10.0.0.2:8080');
    expect(out).toContain('round-robin: a b a b');
    expect(out).toContain('after a failed: b b b');
  });

  it('bank-transfer.ts: concurrent STM transfers keep the total and are all counted', async () => {
    const out = await run('bank-transfer.ts', { ETCD_ENDPOINTS: etcd.endpoints.join(',') });
    expect(out).toContain('alice 520, bob 480, total 1000');
    expect(out).toContain('transfers counted: 4');
  });

  it('queue.ts: a job taken by a crashed worker is done by the next one, in priority order', async () => {
    const out = await run('queue.ts', { ETCD_ENDPOINTS: etcd.endpoints.join(',') });
    expect(out).toContain('worker A took: page on-call');
    expect(out).toContain('worker B did: page on-call, send invoice, resize photo');
    expect(out).toContain('left in queue: 0');
  });

  it('lock-features.ts: lock-delay after a lost holder, a bounded hold, introspection, events', async () => {
    const out = await run('lock-features.ts', { ETCD_ENDPOINTS: etcd.endpoints.join(',') });
    expect(out).toContain('holder is A: true; waiters: 1');
    expect(out).toContain('hand-off from a lost holder, held back until the delay passed');
    expect(out).toContain("A's lock lost: ERR_LOCK_LOST");
    expect(out).toContain('warning: releasing in 200 ms');
    expect(out).toContain('B released by its bound: ERR_LOCK_HOLD_EXPIRED');
    expect(out).toContain('events: lock.acquired lock.contention lock.delayed lock.lost');
  });

  it('redis-mutex.ts: tokens increase', async () => {
    const out = await run('redis-mutex.ts', { REDIS_URL: `redis://127.0.0.1:${redis.port}` });
    expect(out).toContain('tokens increase: true');
  });
});
