// Interop with the real `etcdctl` 3.4 (ETCDCTL_API=3) against the gRPC API over an in-memory
// port. Each command's printed output (plain or `-w json`) is checked for the values,
// revisions and ids the port holds; long-running commands (watch, lock, elect, keep-alive)
// are observed through the lines they print, never through timings. Fails under CI=true when
// etcdctl is missing; skips locally with the reason.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../../src/base/int64.js';
import { unalignSnapshot } from '../../../src/server/api/maintenance-service.js';
import { writeSnapshot } from '../../../src/storage/backend/index.js';
import { missingBinaries } from '../../support/binaries.js';
import { etcdctl, etcdctlArgs, EtcdctlProcess } from '../../support/etcdctl.js';
import { waitFor } from '../../support/wait.js';
import { startApi, type RunningApi } from './support/api-server.js';

const skip = missingBinaries('etcdctl');

describe.skipIf(skip !== undefined)('etcdctl 3.4 against the gRPC API', () => {
  let api: RunningApi;
  let endpoints: string[];
  const processes: EtcdctlProcess[] = [];
  const run = (...args: string[]): Promise<string> => etcdctl(endpoints, args);
  const json = async (...args: string[]): Promise<Record<string, unknown>> => JSON.parse(await run('-w', 'json', ...args)) as Record<string, unknown>;
  const b64 = (text: string): string => Buffer.from(text).toString('base64');
  const healthOutput = (): Promise<string> =>
    new Promise((resolve, reject) => {
      execFile('etcdctl', etcdctlArgs(endpoints, ['endpoint', 'health']), { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 15_000 }, (error, stdout, stderr) =>
        error ? reject(new Error(`${String(error)}: ${stderr}`)) : resolve(stdout + stderr));
    });

  beforeAll(async () => {
    api = await startApi();
    endpoints = [api.endpoint];
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.kill()));
    await api?.stop();
  });

  it('put and get with prefix, limit, sort, rev, keys-only and json output', async () => {
    expect((await run('put', 'ctl/a', '1')).trim()).toBe('OK');
    await run('put', 'ctl/b', '2');
    await run('put', 'ctl/c', '3');
    const revAfterA = api.port.store.currentRevision - 2;
    await run('put', 'ctl/a', '10');
    expect((await run('get', 'ctl/', '--prefix')).trim().split('\n')).toEqual(['ctl/a', '10', 'ctl/b', '2', 'ctl/c', '3']);
    expect((await run('get', 'ctl/', '--prefix', '--limit=2')).trim().split('\n')).toEqual(['ctl/a', '10', 'ctl/b', '2']);
    expect((await run('get', 'ctl/', '--prefix', '--sort-by=KEY', '--order=DESCEND', '--keys-only')).trim().split(/\n+/)).toEqual(['ctl/c', 'ctl/b', 'ctl/a']);
    expect((await run('get', 'ctl/a', `--rev=${revAfterA}`)).trim().split('\n')).toEqual(['ctl/a', '1']);
    const raw = await run('-w', 'json', 'get', 'ctl/a');
    // 64-bit ids lose precision in JSON.parse: read them from the text.
    expect(BigInt(/"member_id":(\d+)/.exec(raw)![1]!)).toBe(api.port.memberId);
    const out = JSON.parse(raw) as Record<string, unknown>;
    const header = out.header as Record<string, unknown>;
    expect(header.revision).toBe(api.port.store.currentRevision);
    const kvs = out.kvs as Array<Record<string, unknown>>;
    expect(kvs[0]).toMatchObject({ key: b64('ctl/a'), value: b64('10'), version: 2 });
    expect(out.count).toBe(1);
  });

  it('del, txn and compaction', async () => {
    await run('put', 'del/x', 'x');
    expect((await run('del', 'del/x')).trim()).toBe('1');
    expect((await run('del', 'del/x')).trim()).toBe('0');
    await run('put', 'txn/k', 'v1');
    const txn = new EtcdctlProcess(endpoints, ['txn']);
    processes.push(txn);
    txn.child.stdin!.end('value("txn/k") = "v1"\n\nput txn/k v2\n\nput txn/k other\n\n');
    await txn.exited;
    expect(txn.lines()).toEqual(['SUCCESS', 'OK']);
    expect((await run('get', 'txn/k', '--print-value-only')).trim()).toBe('v2');
    const rev = api.port.store.currentRevision;
    expect((await run('compaction', String(rev - 1))).trim()).toBe(`compacted revision ${rev - 1}`);
    await expect(run('get', 'txn/k', `--rev=${rev - 2}`)).rejects.toThrow(/required revision has been compacted/);
  });

  it('watch with prefix, rev and prev-kv', async () => {
    await run('put', 'watch/a', 'before');
    const fromRev = api.port.store.currentRevision;
    const watcher = new EtcdctlProcess(endpoints, ['watch', 'watch/', '--prefix', `--rev=${fromRev}`, '--prev-kv']);
    processes.push(watcher);
    await waitFor(() => expect(watcher.lines()).toEqual(['PUT', 'watch/a', 'before']));
    await run('put', 'watch/a', 'after');
    await run('del', 'watch/a');
    await waitFor(() => expect(watcher.lines()).toEqual([
      'PUT', 'watch/a', 'before',
      'PUT', 'watch/a', 'before', 'watch/a', 'after',
      'DELETE', 'watch/a', 'after', 'watch/a',
    ]));
    await watcher.kill();
  });

  it('lease grant, timetolive, list, keep-alive --once and revoke', async () => {
    const granted = (await run('lease', 'grant', '30')).trim();
    const match = /^lease ([0-9a-f]+) granted with TTL\(30s\)$/.exec(granted);
    expect(match).not.toBeNull();
    const id = match![1]!;
    expect(api.port.lessor.leases().map(toHex)).toContain(id);
    await run('put', 'leased', 'v', `--lease=${id}`);
    expect((await run('lease', 'timetolive', id, '--keys')).trim()).toBe(`lease ${id} granted with TTL(30s), remaining(30s), attached keys([leased])`);
    expect(await run('lease', 'list')).toContain(id);
    expect((await run('lease', 'keep-alive', '--once', id)).trim()).toBe(`lease ${id} keepalived with TTL(30)`);
    expect((await run('lease', 'revoke', id)).trim()).toBe(`lease ${id} revoked`);
    expect((await run('get', 'leased')).trim()).toBe('');
    expect((await run('lease', 'timetolive', id)).trim()).toBe(`lease ${id} already expired`);
    expect((await run('lease', 'keep-alive', '--once', id).catch((e: Error) => e.message))).toMatch(/not found|expired/);
  });

  it('lease keep-alive keeps renewing on its stream until stopped', async () => {
    const id = /^lease ([0-9a-f]+) granted/.exec((await run('lease', 'grant', '2')).trim())![1]!;
    const keeper = new EtcdctlProcess(endpoints, ['lease', 'keep-alive', id]);
    processes.push(keeper);
    // etcdctl renews every TTL/3 on one stream: two answers show the stream stays open.
    await waitFor(() => expect(keeper.lines().filter((line) => line === `lease ${id} keepalived with TTL(2)`).length).toBeGreaterThanOrEqual(2));
    await keeper.kill();
    expect((await run('lease', 'revoke', id)).trim()).toBe(`lease ${id} revoked`);
  });

  it('lock: a second etcdctl lock waits until the first holder exits', async () => {
    const first = new EtcdctlProcess(endpoints, ['lock', 'ctl-lock']);
    processes.push(first);
    await waitFor(() => expect(first.lines().some((line) => line.startsWith('ctl-lock/'))).toBe(true));
    const second = new EtcdctlProcess(endpoints, ['lock', 'ctl-lock', '--', 'sh', '-c', 'echo "acquired $ETCD_LOCK_KEY"']);
    processes.push(second);
    await waitFor(async () => expect((await run('get', 'ctl-lock/', '--prefix', '--keys-only')).trim().split(/\n+/)).toHaveLength(2));
    expect(second.lines()).toEqual([]);
    first.signal('SIGINT');
    await waitFor(() => expect(second.lines().some((line) => line.startsWith('acquired ctl-lock/'))).toBe(true));
    await second.exited;
  });

  it('elect: an observer sees the leader, then the next one after the first resigns', async () => {
    const observer = new EtcdctlProcess(endpoints, ['elect', '-l', 'ctl-elect']);
    processes.push(observer);
    const one = new EtcdctlProcess(endpoints, ['elect', 'ctl-elect', 'one']);
    processes.push(one);
    await waitFor(() => expect(one.lines()).toContain('one'));
    const two = new EtcdctlProcess(endpoints, ['elect', 'ctl-elect', 'two']);
    processes.push(two);
    await waitFor(() => expect(observer.lines()).toContain('one'));
    one.signal('SIGINT');
    await waitFor(() => expect(two.lines()).toContain('two'));
    await waitFor(() => expect(observer.lines()).toContain('two'));
    two.signal('SIGINT');
    await observer.kill();
  });

  it('member add (learner), promote, list and remove', async () => {
    const added = await run('member', 'add', 'learner-1', '--peer-urls=http://127.0.0.1:2390', '--learner');
    const id = /Member\s+([0-9a-f]+) added to cluster/.exec(added)?.[1];
    expect(id).toBeDefined();
    expect(await run('member', 'list')).toContain(`${id}, unstarted, , http://127.0.0.1:2390, , true`);
    expect((await run('member', 'promote', id!)).trim()).toMatch(new RegExp(`Member\\s+${id} promoted in cluster`));
    expect(await run('member', 'list')).toContain(`${id}, unstarted, , http://127.0.0.1:2390, , false`);
    expect((await run('member', 'remove', id!)).trim()).toMatch(new RegExp(`Member\\s+${id} removed from cluster`));
    await expect(run('member', 'remove', id!)).rejects.toThrow(/member not found/);
    await expect(run('member', 'add', 'bad', '--peer-urls=127.0.0.1:2391')).rejects.toThrow(/URL/);
  });

  it('endpoint status and health, alarm list, defrag, snapshot save, hashkv, member list', async () => {
    await run('put', 'status/k', 'v'); // a non-empty store, so hashes are not the zero default
    const status = await run('-w', 'json', 'endpoint', 'status');
    expect(BigInt(/"leader":(\d+)/.exec(status)![1]!)).toBe(api.port.memberId);
    expect(/"revision":(\d+)/.exec(status)![1]).toBe(String(api.port.store.currentRevision));
    // etcdctl 3.4 prints the health line on stderr.
    expect(await healthOutput()).toMatch(/is healthy: successfully committed proposal/);
    expect((await run('alarm', 'list')).trim()).toBe('');
    expect((await run('defrag')).trim()).toBe(`Finished defragmenting etcd member[${api.endpoint}]`);
    expect(api.port.counters.defragments).toBe(1);
    const hashkv = (await json('endpoint', 'hashkv')) as unknown as Array<{ HashKV: { hash: number } }>;
    expect(hashkv[0]!.HashKV.hash).toBe(api.port.store.hashKv().hash >>> 0);
    const dir = mkdtempSync(join(tmpdir(), 'conclave-snap-'));
    try {
      const file = join(dir, 'snap.db');
      expect(await run('snapshot', 'save', file)).toContain(`Snapshot saved at ${file}`);
      // Backend snapshot, self-describing padding to 512 bytes, then the SHA-256 (etcd's checksum).
      const body = unalignSnapshot(readFileSync(file));
      const expected = Buffer.concat([...writeSnapshot(api.port.store.backend, 4096)]);
      expect(Buffer.from(body).equals(expected)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const members = await run('member', 'list');
    expect(members).toContain(`${toHex(api.port.memberId)}, started, default, http://127.0.0.1:2380, http://127.0.0.1:2379`);
  });
});
