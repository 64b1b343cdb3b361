// The client commands run in-process (runCli with a captured io) against real etcd 3.4, their
// `-w json` compared with etcdctl's for the same request on the same data (byte for byte where
// the SDK surfaces every field), their tables and exit codes checked, and the txn reader fed
// etcdctl's stdin format. Also: the services commands read a ServiceRegistry's entries.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, ServiceRegistry } from '../../src/index.js';
import { runCli } from '../../src/cli/run.js';
import { runTxn } from '../../src/cli/commands/txn.js';
import type { CommandIo } from '../../src/cli/server-command.js';
import { missingBinaries } from '../support/binaries.js';
import { etcdctl } from '../support/etcdctl.js';
import { startEtcd } from '../support/etcd.js';
import type { EtcdCluster } from '../support/etcd.js';

const skip = missingBinaries('etcd', 'etcdctl');

function captured(): CommandIo & { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '', out: (t: string) => void (io.stdout += t), err: (t: string) => void (io.stderr += t), onStopSignal: () => () => {} };
  return io;
}

describe.skipIf(skip !== undefined)('conclave get|put|del|txn|lease|member|endpoint|services against real etcd 3.4', () => {
  let etcd: EtcdCluster;
  let client: Client;
  const run = async (...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    const io = captured();
    const code = await runCli([...argv, '--endpoints', etcd.endpoints.join(',')], io);
    return { code, stdout: io.stdout, stderr: io.stderr };
  };

  beforeAll(async () => {
    etcd = await startEtcd();
    client = new Client({ endpoints: etcd.endpoints });
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await etcd?.stop();
  });

  it('put, get, del: etcdctl\'s JSON for the same reads, tables by default', async () => {
    expect(await run('put', 'app/a', 'one')).toEqual({ code: 0, stdout: 'OK\n', stderr: '' });
    expect((await run('put', 'app/b', 'two words')).code).toBe(0);
    for (const args of [['get', 'app/', '--prefix'], ['get', 'app/a'], ['get', 'missing'], ['get', 'app/', '--prefix', '--keys-only'], ['get', 'app/', '--prefix', '--limit', '1']]) {
      const ours = await run(...args, '-w', 'json');
      expect(ours.code, ours.stderr).toBe(0);
      expect(ours.stdout, args.join(' ')).toBe(await etcdctl(etcd.endpoints, [...args, '-w', 'json']));
    }
    const table = await run('get', 'app/', '--prefix');
    expect(table.stdout).toMatch(/\| KEY +\| VALUE +\| CREATE REV \| MOD REV \| VERSION \| LEASE \|/);
    expect(table.stdout).toMatch(/\| app\/b \| two words \|/);
    expect((await run('get', 'app/', '--prefix', '-w', 'simple')).stdout).toBe('app/a\none\napp/b\ntwo words\n');
    expect(await run('del', 'app/', '--prefix')).toMatchObject({ code: 0, stdout: '2\n' });
  });

  it('txn reads etcdctl\'s format: compares, success ops, failure ops', async () => {
    await client.put('mode', 'a');
    const io = captured();
    expect(await runTxn(io, client, 'simple', new AbortController().signal, Promise.resolve('value("mode") = "a"\n\nput mode b\nget mode\n\nget mode\n'))).toBe(0);
    expect(io.stdout).toBe('SUCCESS\n\nOK\n\nmode\nb\n');
    const again = captured();
    await runTxn(again, client, 'simple', new AbortController().signal, Promise.resolve('mod("mode") < "2"\n\nput mode c\n\nget mode\n'));
    expect(again.stdout).toBe('FAILURE\n\nmode\nb\n');
    await expect(runTxn(captured(), client, 'simple', new AbortController().signal, Promise.resolve('weird("x") = "1"\n'))).rejects.toThrow(/cannot read the compare/);
  });

  it('lease grant/timetolive/list/revoke, member list, endpoint status/health', async () => {
    const grant = await run('lease', 'grant', '30');
    const id = /^lease ([0-9a-f]+) granted with TTL\(30s\)\n$/.exec(grant.stdout)?.[1];
    expect(id, grant.stdout + grant.stderr).toBeDefined();
    await client.put('leased', 'x').lease(BigInt(`0x${id}`));
    expect((await run('lease', 'timetolive', id!, '--keys')).stdout).toMatch(new RegExp(`^lease ${id} granted with TTL\\(30s\\), remaining\\(\\d+s\\), attached keys\\(\\["leased"\\]\\)\\n$`));
    expect((await run('lease', 'list', '-w', 'simple')).stdout).toContain(`${id}\n`);
    expect((await run('lease', 'revoke', id!)).stdout).toBe(`lease ${id} revoked\n`);
    expect((await run('lease', 'timetolive', id!)).stdout).toBe(`lease ${id} already expired\n`);
    expect((await run('lease', 'revoke', 'zz')).code).toBe(2);

    const members = JSON.parse((await run('member', 'list', '-w', 'json')).stdout.replace(/"ID":(\d+)/g, '"ID":"$1"')) as { members: { ID: string; name: string }[] };
    const theirs = JSON.parse((await etcdctl(etcd.endpoints, ['member', 'list', '-w', 'json'])).replace(/"ID":(\d+)/g, '"ID":"$1"')) as { members: unknown[] };
    expect(members.members).toEqual(theirs.members);
    const status = JSON.parse((await run('endpoint', 'status', '-w', 'json')).stdout.replace(/(\d{16,})/g, '"$1"')) as { Endpoint: string; Status: { leader: string; version: string } }[];
    expect(status).toHaveLength(1);
    expect(status[0]!.Endpoint).toBe(etcd.endpoints[0]);
    expect(status[0]!.Status.version).toMatch(/^3\.4\./);
    const health = await run('endpoint', 'health');
    expect(health.code).toBe(0);
    expect(health.stdout).toMatch(new RegExp(`\\| ${etcd.endpoints[0]!.replace(/\./g, '\\.')} \\| true +\\|`));
  });

  it('services list shows registered instances (unhealthy ones with --all)', async () => {
    const registry = new ServiceRegistry(client);
    const a = await registry.register({ service: 'billing', id: 'b-1', address: '10.1.0.1:9000', metadata: { v: 2 } });
    const b = await registry.register({ service: 'billing', id: 'b-2', address: '10.1.0.2:9000', healthCheck: { check: () => false, intervalMs: 20 } });
    try {
      await expect.poll(async () => (await run('services', 'list', 'billing', '--all', '-w', 'simple')).stdout, { timeout: 15_000 }).toBe('b-1 10.1.0.1:9000\nb-2 10.1.0.2:9000 unhealthy\n');
      expect((await run('services', 'list', 'billing', '-w', 'simple')).stdout).toBe('b-1 10.1.0.1:9000\n');
    } finally {
      await a.deregister();
      await b.deregister();
    }
  });

  it('a bad flag or an unreachable cluster give exit codes 2 and 1', async () => {
    const bad = captured();
    expect(await runCli(['get', 'k', '--limit', 'many'], bad)).toBe(2);
    expect(bad.stderr).toMatch(/--limit must be a non-negative integer/);
    const down = captured();
    expect(await runCli(['get', 'k', '--endpoints', '127.0.0.1:1', '--command-timeout', '300'], down)).toBe(1);
    expect(down.stderr).toMatch(/^conclave get: /);
  });
});
