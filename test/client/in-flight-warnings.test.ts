// Method: a real single-member etcd 3.4 and an embedded Conclave member (member.client()),
// started for this file. 1,000 calls in flight on one client (plain, with a caller signal
// shared by all of them, with their own time limit) and 1,000 watchers sharing one signal must
// not make Node emit MaxListenersExceededWarning (captured with process.on('warning')), and
// aborting the shared signal must still end every call and watcher with its reason.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/client/index.js';
import { startMember } from '../../src/embed/index.js';
import type { EmbeddedMember } from '../../src/embed/index.js';
import { missingBinaries } from '../support/binaries.js';
import { startEtcd } from '../support/etcd.js';
import type { EtcdCluster } from '../support/etcd.js';

const skip = missingBinaries('etcd');
const CALLS = 1_000;

async function assertNoListenerWarnings(client: Client, prefix: string): Promise<void> {
  const warnings: Error[] = [];
  const onWarning = (warning: Error): void => {
    warnings.push(warning);
  };
  process.on('warning', onWarning);
  try {
    await client.put(`${prefix}/k`, 'v');
    const shared = new AbortController();
    const gets = Array.from({ length: CALLS }, () => client.get(`${prefix}/k`));
    const withSignal = Array.from({ length: CALLS }, (_, i) => client.put(`${prefix}/s/${i}`, 'v').signal(shared.signal));
    const withTimeout = Array.from({ length: CALLS }, () => client.get(`${prefix}/k`).timeout(90_000));
    const results = await Promise.all([...gets, ...withTimeout]);
    expect(results.every((r) => r.kvs[0]?.value === 'v')).toBe(true);
    expect((await Promise.all(withSignal)).length).toBe(CALLS);

    // The same shared signal on 1,000 watchers, then on calls that are still in flight when it aborts.
    const watchSignal = new AbortController();
    const watchers = Array.from({ length: CALLS }, (_, i) => client.watch(`${prefix}/w/${i}`, { signal: watchSignal.signal }));
    await Promise.all(watchers.map((w) => w.ready()));
    const reason = new Error('stop');
    const pending = Array.from({ length: CALLS }, () => client.get(`${prefix}/k`).signal(watchSignal.signal).then(() => 'done', (e: unknown) => e));
    watchSignal.abort(reason);
    const outcomes = await Promise.all(pending);
    // Calls answered before the abort resolve; every other one rejects with the signal's reason.
    expect(outcomes.every((o) => o === 'done' || o === reason)).toBe(true);
    for (const watcher of watchers) await expect(watcher.next()).rejects.toBe(reason);
    // Let any deferred warning reach the listener before judging.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', onWarning);
  }
  expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message)).toEqual([]);
}

describe.skipIf(skip !== undefined)('1,000 calls in flight on one client (etcd 3.4)', () => {
  let etcd: EtcdCluster;
  let client: Client;

  beforeAll(async () => {
    etcd = await startEtcd();
    // 3,000 calls at once on a loaded 2-core machine can take longer than the default 5 s limit.
    client = new Client({ endpoints: etcd.endpoints, callTimeoutMs: 60_000 });
  });

  afterAll(async () => {
    await client?.close();
    await etcd?.stop();
  });

  it('emit no MaxListenersExceededWarning', async () => {
    await assertNoListenerWarnings(client, 'warn-etcd');
  });
});

describe('1,000 calls in flight on one client (embedded Conclave member)', () => {
  let dataDir: string;
  let member: EmbeddedMember;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'conclave-warnings-'));
    member = await startMember({
      dataDir, listenClientUrls: ['http://127.0.0.1:0'], listenPeerUrls: ['http://127.0.0.1:0'],
      initialCluster: 'default=http://127.0.0.1:1', initialAdvertisePeerUrls: ['http://127.0.0.1:1'], heartbeatIntervalMs: 20, electionTimeoutMs: 200,
    });
  });

  afterAll(async () => {
    await member?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('emit no MaxListenersExceededWarning', async () => {
    await using client = member.client({ callTimeoutMs: 60_000 });
    await assertNoListenerWarnings(client, 'warn-embedded');
  });
});
