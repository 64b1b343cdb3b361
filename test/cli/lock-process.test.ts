// `conclave lock` as real processes against 3 `conclave server` processes and against real
// etcd 3.4: two holders on one name never overlap (their commands append start/end lines with
// timestamps and tokens to one file: the intervals are disjoint and the tokens increase); a
// holder whose lease is revoked sees its command terminated and exits 125; SIGINT passes to the
// command and then releases the lock at once (the lease is revoked, not left to its 60 s TTL);
// `conclave lock` and `etcdctl lock` exclude each other on one name. Waits are for states
// (a line in a file, a process exit), never for durations.
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/client/index.js';
import { missingBinaries } from '../support/binaries.js';
import { startEtcd } from '../support/etcd.js';
import { EtcdctlProcess } from '../support/etcdctl.js';
import { waitFor } from '../support/wait.js';
import { ConclaveCluster } from '../integration/support/cluster.js';
import { CliProcess } from './support/cli-process.js';
import type { Target } from './support/cli-process.js';

const skip = missingBinaries('etcd', 'etcdctl');
const dir = mkdtempSync(join(tmpdir(), 'conclave-cli-lock-'));
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

let sequence = 0;
const fileName = (label: string): string => join(dir, `${label}-${sequence++}.log`);
const read = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : []);

/** A shell command that appends "start <token> <ns>", works a little, then appends "end <token> <ns>". */
const critical = (file: string, who: string): string[] => ['sh', '-c', `echo "start ${who} $CONCLAVE_LOCK_TOKEN $(date +%s%N)" >> ${file}; sleep 0.2; echo "end ${who} $CONCLAVE_LOCK_TOKEN $(date +%s%N)" >> ${file}`];

describe.skipIf(skip !== undefined).each(targets)('conclave lock against %s', (_label, startTarget) => {
  let target: Target;
  let client: Client;
  const lock = (args: string[]): CliProcess => {
    const p = new CliProcess(['lock', '--endpoints', target.endpoints.join(','), ...args]);
    processes.push(p);
    return p;
  };

  beforeAll(async () => {
    target = await startTarget();
    client = new Client({ endpoints: target.endpoints, callTimeoutMs: 15_000 });
  }, 120_000);

  afterAll(async () => {
    await client?.close();
    await target?.stop();
  });

  it('holders on one name never overlap: disjoint intervals, increasing tokens, each command\'s exit code passed on', async () => {
    const file = fileName('overlap');
    const runs = ['a', 'b', 'c'].map((who) => lock(['orders', '--', ...critical(file, who)]));
    const codes = await Promise.all(runs.map((p) => p.exited));
    expect(codes, runs.map((p) => p.describe()).join('\n')).toEqual([0, 0, 0]);
    const lines = read(file).map((line) => line.split(' '));
    expect(lines).toHaveLength(6);
    let lastEnd = 0n;
    let lastToken = 0n;
    for (let i = 0; i < lines.length; i += 2) {
      const [startWord, who, token, startNs] = lines[i]!;
      const [endWord, endWho, endToken, endNs] = lines[i + 1]!;
      // Each start is followed by its own end: nobody else started in between.
      expect([startWord, endWord, endWho, endToken]).toEqual(['start', 'end', who, token]);
      expect(BigInt(startNs!)).toBeGreaterThan(lastEnd);
      expect(BigInt(token!)).toBeGreaterThan(lastToken);
      lastEnd = BigInt(endNs!);
      lastToken = BigInt(token!);
    }
    const exit7 = lock(['exit-code', '--', 'sh', '-c', 'exit 7']);
    expect(await exit7.exited).toBe(7);
    expect((await client.get('orders/').prefix()).kvs).toHaveLength(0);
  }, 180_000);

  it('a holder whose lease is revoked has its command terminated (SIGTERM) and exits 125', async () => {
    const file = fileName('revoked');
    const holder = lock(['revoked', '--ttl', '60', '--', 'sh', '-c', `trap 'echo terminated >> ${file}; exit 0' TERM; echo started >> ${file}; while :; do sleep 0.05; done`]);
    await waitFor(() => expect(read(file), holder.describe()).toContain('started'), { timeout: 60_000 });
    const key = (await client.get('revoked/').prefix()).kvs[0]!;
    await client.leaseRevoke(key.lease);
    expect(await holder.exited, holder.describe()).toBe(125);
    expect(read(file)).toEqual(['started', 'terminated']);
    expect(holder.stderr).toMatch(/conclave lock: lost .*stopping the command/);
  }, 120_000);

  it('a command that ignores SIGTERM is killed after --grace-period', async () => {
    const file = fileName('stubborn');
    const holder = lock(['stubborn', '--grace-period', '200', '--', 'sh', '-c', `trap '' TERM; echo started >> ${file}; while :; do sleep 0.05; done`]);
    await waitFor(() => expect(read(file), holder.describe()).toContain('started'), { timeout: 60_000 });
    await client.leaseRevoke((await client.get('stubborn/').prefix()).kvs[0]!.lease);
    expect(await holder.exited, holder.describe()).toBe(125);
  }, 120_000);

  it('SIGINT stops the command and releases the lock at once: its lease is revoked and the next waiter runs', async () => {
    const file = fileName('sigint');
    const holder = lock(['interrupt', '--ttl', '60', '--', 'sh', '-c', `echo holder >> ${file}; while :; do sleep 0.05; done`]);
    await waitFor(() => expect(read(file), holder.describe()).toEqual(['holder']), { timeout: 60_000 });
    const holderLease = (await client.get('interrupt/').prefix()).kvs[0]!.lease;
    const waiter = lock(['interrupt', '--ttl', '60', '--', 'sh', '-c', `echo waiter >> ${file}`]);
    await waitFor(async () => expect((await client.get('interrupt/').prefix()).kvs).toHaveLength(2), { timeout: 60_000 });
    holder.signal('SIGINT');
    expect(await holder.exited, holder.describe()).toBe(130);
    // Revoked (TTL -1), not waiting out its 60 s.
    expect((await client.leaseTimeToLive(holderLease)).ttlSeconds).toBe(-1);
    expect(await waiter.exited, waiter.describe()).toBe(0);
    expect(read(file)).toEqual(['holder', 'waiter']);
  }, 120_000);

  it('--timeout gives up with exit 124 and leaves no waiter key', async () => {
    const file = fileName('timeout');
    const holder = lock(['busy', '--', 'sh', '-c', `echo holder >> ${file}; while :; do sleep 0.05; done`]);
    await waitFor(() => expect(read(file), holder.describe()).toEqual(['holder']), { timeout: 60_000 });
    const late = lock(['busy', '--timeout', '300', '--', 'sh', '-c', `echo late >> ${file}`]);
    expect(await late.exited, late.describe()).toBe(124);
    expect(late.stderr).toMatch(/not acquired within 300 ms/);
    expect((await client.get('busy/').prefix()).kvs).toHaveLength(1);
    holder.signal('SIGTERM');
    expect(await holder.exited).toBe(143);
    expect(read(file)).toEqual(['holder']);
  }, 120_000);

  it('conclave lock and etcdctl lock exclude each other on one name', async () => {
    const file = fileName('etcdctl');
    const section = (who: string): string => `echo "start ${who}" >> ${file}; sleep 0.2; echo "end ${who}" >> ${file}`;
    const ours = lock(['shared', '--', 'sh', '-c', section('conclave-1')]);
    const theirs = new EtcdctlProcess(target.endpoints, ['lock', 'shared', '--', 'sh', '-c', section('etcdctl')]);
    const ours2 = lock(['shared', '--', 'sh', '-c', section('conclave-2')]);
    try {
      expect(await ours.exited, ours.describe()).toBe(0);
      expect(await theirs.exited, theirs.log).toBe(0);
      expect(await ours2.exited, ours2.describe()).toBe(0);
    } finally {
      await theirs.kill();
    }
    const lines = read(file);
    expect(lines).toHaveLength(6);
    for (let i = 0; i < 6; i += 2) expect(lines[i + 1]).toBe(lines[i]!.replace('start', 'end'));
    expect(new Set(lines.map((l) => l.split(' ')[1]))).toEqual(new Set(['conclave-1', 'etcdctl', 'conclave-2']));
  }, 180_000);
});
