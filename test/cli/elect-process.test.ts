// `conclave elect` as real processes: a leader's command runs only while it leads; kill -9 of
// the leader's process group (conclave and its command, as a crashed host) hands leadership to
// the waiting candidate once the dead session's lease expires; `--observe` prints each new
// leader and "no leader" while nobody leads. Against 3 conclave server processes and real etcd.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/client/index.js';
import { missingBinaries } from '../support/binaries.js';
import { startEtcd } from '../support/etcd.js';
import { waitFor } from '../support/wait.js';
import { ConclaveCluster } from '../integration/support/cluster.js';
import { CliProcess } from './support/cli-process.js';
import type { Target } from './support/cli-process.js';

const skip = missingBinaries('etcd');
const dir = mkdtempSync(join(tmpdir(), 'conclave-cli-elect-'));
const processes: CliProcess[] = [];

afterAll(async () => {
  await Promise.all(processes.map((p) => p.killAll()));
  rmSync(dir, { recursive: true, force: true });
});

const targets: Array<[string, () => Promise<Target>]> = [
  ['3 conclave server processes', async () => {
    const cluster = await ConclaveCluster.start({ members: 3, engine: 'memory' });
    return { name: 'conclave', endpoints: cluster.endpoints(), stop: () => cluster.stop() };
  }],
  ['real etcd 3.4', async () => {
    const etcd = await startEtcd();
    return { name: 'etcd', endpoints: etcd.endpoints, stop: () => etcd.stop() };
  }],
];

const read = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : []);

describe.skipIf(skip !== undefined).each(targets)('conclave elect against %s', (label, startTarget) => {
  let target: Target;
  const elect = (args: string[]): CliProcess => {
    const p = new CliProcess(['elect', '--endpoints', target.endpoints.join(','), ...args]);
    processes.push(p);
    return p;
  };

  beforeAll(async () => {
    target = await startTarget();
  }, 120_000);

  afterAll(async () => {
    await target?.stop();
  });

  it('fails over when the leader process is killed; --observe prints new leaders and "no leader" gaps', async () => {
    const file = join(dir, `${label.replace(/\W+/g, '-')}.log`);
    // Each candidate's command records that it runs, then works until stopped.
    const candidate = (value: string): CliProcess => elect(['scheduler', value, '--ttl', '2', '--', 'sh', '-c', `echo "$CONCLAVE_LEADER_VALUE $CONCLAVE_LEADER_TOKEN" >> ${file}; while :; do sleep 0.05; done`]);
    const observer = elect(['scheduler', '--observe']);
    await waitFor(() => expect(observer.lines(), observer.describe()).toEqual(['no leader']), { timeout: 60_000 });

    const a = candidate('node-a');
    await waitFor(() => expect(read(file).map((l) => l.split(' ')[0])).toEqual(['node-a']), { timeout: 60_000 });
    const b = candidate('node-b');
    await waitFor(() => expect(observer.lines().at(-1)).toMatch(/^leader=node-a key=scheduler\/[0-9a-f]+ token=\d+$/), { timeout: 60_000 });
    // b is a candidate (its key is queued behind a's) and waits: its command has not run.
    const client = new Client({ endpoints: target.endpoints, callTimeoutMs: 15_000 });
    try {
      await waitFor(async () => expect((await client.get('scheduler/').prefix()).kvs, b.describe()).toHaveLength(2), { timeout: 60_000 });
    } finally {
      await client.close();
    }
    expect(read(file)).toHaveLength(1);

    await a.killAll();
    // The dead leader's lease expires (2 s TTL) and b's command starts.
    await waitFor(() => expect(read(file).map((l) => l.split(' ')[0]), b.describe()).toEqual(['node-a', 'node-b']), { timeout: 60_000 });
    const [tokenA, tokenB] = read(file).map((l) => BigInt(l.split(' ')[1]!));
    expect(tokenB).toBeGreaterThan(tokenA!);
    await waitFor(() => expect(observer.lines().at(-1)).toMatch(/^leader=node-b /), { timeout: 60_000 });

    // b resigns on SIGTERM (its command stopped first): nobody leads.
    b.signal('SIGTERM');
    expect(await b.exited, b.describe()).toBe(143);
    await waitFor(() => expect(observer.lines().at(-1)).toBe('no leader'), { timeout: 60_000 });

    const c = candidate('node-c');
    await waitFor(() => expect(observer.lines().at(-1)).toMatch(/^leader=node-c /), { timeout: 60_000 });
    const changes = observer.lines().map((l) => (l === 'no leader' ? l : l.split(' ')[0]));
    expect(changes).toEqual(['no leader', 'leader=node-a', 'leader=node-b', 'no leader', 'leader=node-c']);
    c.signal('SIGINT');
    expect(await c.exited).toBe(130);
    observer.signal('SIGINT');
    expect(await observer.exited).toBe(0);
  }, 240_000);
});
