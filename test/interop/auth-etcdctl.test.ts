// etcdctl 3.4's user, role and auth commands against 3 `conclave server` processes and
// against real etcd 3.4, command by command: exit code, stdout and stderr must be identical
// (after dropping the per-cluster ids and raft terms of -w json output). Each command goes
// to a different Conclave member in turn, so followers are compared as much as the leader.
// Fails under CI=true when etcd or etcdctl is missing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingBinaries } from '../support/binaries.js';
import { startConclaveProcesses, type ConclaveProcessCluster } from '../support/conclave-processes.js';
import { startEtcd, type EtcdCluster } from '../support/etcd.js';
import { runEtcdctl } from './support/run-etcdctl.js';

const skip = missingBinaries('etcd', 'etcdctl');

interface Step {
  readonly args: readonly string[];
  readonly stdin?: string;
}

const root = ['--user', 'root:rootpw'];

/** The session, in order: setup while auth is off, then as users once it is on, then off again. */
const steps: Step[] = [
  { args: ['auth', 'enable'] },
  { args: ['user', 'add', 'root:rootpw'] },
  { args: ['user', 'add', 'root:other'] },
  { args: ['user', 'add', 'alice', '--new-user-password=apw'] },
  { args: ['user', 'add', 'bob', '--interactive=false'], stdin: 'bpw\n' },
  { args: ['user', 'add', 'carol', '--no-password'] },
  { args: ['user', 'list'] },
  { args: ['-w', 'json', 'user', 'list'] },
  { args: ['user', 'get', 'alice'] },
  { args: ['user', 'get', 'nobody'] },
  { args: ['role', 'add', 'r1'] },
  { args: ['role', 'add', 'r1'] },
  { args: ['role', 'add', 'r2'] },
  { args: ['role', 'grant-permission', 'r1', 'read', 'k1'] },
  { args: ['role', 'grant-permission', 'r1', 'write', 'p/', '--prefix'] },
  { args: ['role', 'grant-permission', 'r1', 'readwrite', 'f', '--from-key'] },
  { args: ['role', 'grant-permission', 'r1', 'readwrite', 'a', 'c'] },
  { args: ['role', 'grant-permission', 'r1', 'read', 'k1'] },
  { args: ['role', 'grant-permission', 'r1', 'bogus', 'k1'] },
  { args: ['role', 'grant-permission', 'nobody', 'read', 'k1'] },
  { args: ['role', 'grant-permission', 'r2', 'readwrite', 'q/', '--prefix'] },
  { args: ['role', 'get', 'r1'] },
  { args: ['-w', 'json', 'role', 'get', 'r1'] },
  { args: ['role', 'get', 'nobody'] },
  { args: ['role', 'list'] },
  { args: ['role', 'revoke-permission', 'r1', 'k1'] },
  { args: ['role', 'revoke-permission', 'r1', 'k1'] },
  { args: ['role', 'revoke-permission', 'r1', 'a', 'c'] },
  { args: ['role', 'revoke-permission', 'nobody', 'k1'] },
  { args: ['role', 'get', 'r1'] },
  { args: ['user', 'grant-role', 'alice', 'r1'] },
  { args: ['user', 'grant-role', 'alice', 'r1'] },
  { args: ['user', 'grant-role', 'alice', 'nope'] },
  { args: ['user', 'grant-role', 'nobody', 'r1'] },
  { args: ['user', 'grant-role', 'bob', 'r2'] },
  { args: ['user', 'get', 'alice', '--detail'] },
  { args: ['user', 'revoke-role', 'bob', 'r1'] },
  { args: ['user', 'revoke-role', 'nobody', 'r1'] },
  { args: ['auth', 'enable'] },
  { args: ['user', 'grant-role', 'root', 'root'] },
  { args: ['auth', 'enable'] },
  { args: ['user', 'list'] },
  { args: [...root, 'user', 'list'] },
  { args: ['--user', 'root:wrong', 'user', 'list'] },
  { args: ['--user', 'nobody:x', 'get', 'k1'] },
  { args: ['--user', 'alice:apw', 'user', 'list'] },
  { args: ['--user', 'alice:apw', 'user', 'get', 'alice'] },
  { args: ['--user', 'alice:apw', 'user', 'get', 'root'] },
  { args: ['--user', 'alice:apw', 'role', 'get', 'r1'] },
  { args: ['--user', 'alice:apw', 'role', 'get', 'r2'] },
  { args: ['--user', 'alice:apw', 'put', 'p/x', 'v'] },
  { args: ['--user', 'alice:apw', 'get', 'p/x'] },
  { args: ['--user', 'alice:apw', 'put', 'k1', 'v'] },
  { args: ['--user', 'alice:apw', 'put', 'fz', 'v'] },
  { args: ['--user', 'alice:apw', 'get', 'fz'] },
  { args: ['--user', 'alice:apw', 'get', 'f', '--from-key'] },
  { args: ['--user', 'bob:bpw', 'put', 'q/1', 'v'] },
  { args: ['--user', 'bob:bpw', 'get', 'q/', '--prefix'] },
  { args: ['--user', 'bob:bpw', 'del', 'q/', '--prefix'] },
  { args: ['--user', 'bob:bpw', 'get', 'p/x'] },
  { args: ['--user', 'carol:', 'get', 'k1'] },
  { args: [...root, 'user', 'passwd', 'alice', '--interactive=false'], stdin: 'newpw\n' },
  { args: ['--user', 'alice:apw', 'get', 'fz'] },
  { args: ['--user', 'alice:newpw', 'get', 'fz'] },
  { args: [...root, 'user', 'revoke-role', 'alice', 'r1'] },
  { args: ['--user', 'alice:newpw', 'get', 'fz'] },
  { args: [...root, 'user', 'delete', 'root'] },
  { args: [...root, 'user', 'revoke-role', 'root', 'root'] },
  { args: [...root, 'role', 'delete', 'root'] },
  { args: [...root, 'role', 'delete', 'r2'] },
  { args: [...root, 'user', 'get', 'bob'] },
  { args: [...root, 'role', 'delete', 'r2'] },
  { args: [...root, 'user', 'delete', 'alice'] },
  { args: [...root, 'user', 'delete', 'alice'] },
  { args: [...root, 'role', 'list'] },
  { args: [...root, 'get', '', '--prefix'] },
  { args: ['auth', 'disable'] },
  { args: [...root, 'auth', 'disable'] },
  { args: ['user', 'list'] },
  { args: ['auth', 'disable'] },
  { args: ['user', 'delete', 'root'] },
  { args: ['user', 'list'] },
];

/**
 * Drops what differs between clusters: ids and raft terms in -w json output, and the time
 * and client target (a random id and the port) of etcdctl's own retry warnings on stderr.
 */
function normalize(text: string): string {
  return text
    .replace(/"(cluster_id|member_id|raft_term)":\d+/g, '"$1":0')
    .replace(/"ts":"[^"]*"/g, '"ts":"-"')
    .replace(/"target":"[^"]*"/g, '"target":"-"');
}

describe.skipIf(skip !== undefined)('etcdctl 3.4 user/role/auth: 3 conclave server processes vs etcd 3.4', () => {
  let etcd: EtcdCluster;
  let conclave: ConclaveProcessCluster;

  beforeAll(async () => {
    [etcd, conclave] = await Promise.all([startEtcd(), startConclaveProcesses({ args: ['--bcrypt-cost', '4'] })]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([etcd?.stop(), conclave?.stop()]);
  });

  it(`${steps.length} commands answer identically (exit code, stdout, stderr)`, async () => {
    const differences: string[] = [];
    const outcomes = { ok: 0, failed: 0 };
    for (const [index, step] of steps.entries()) {
      const expected = await runEtcdctl(etcd.endpoints, step.args, step.stdin);
      const actual = await runEtcdctl([conclave.endpoints[index % conclave.endpoints.length]!], step.args, step.stdin);
      const e = { code: expected.code, stdout: normalize(expected.stdout), stderr: normalize(expected.stderr) };
      const a = { code: actual.code, stdout: normalize(actual.stdout), stderr: normalize(actual.stderr) };
      outcomes[expected.code === 0 ? 'ok' : 'failed'] += 1;
      if (JSON.stringify(a) !== JSON.stringify(e)) differences.push(`etcdctl ${step.args.join(' ')}\n  etcd:     ${JSON.stringify(e)}\n  conclave: ${JSON.stringify(a)}`);
    }
    expect(differences.join('\n')).toBe('');
    // The session exercised both successes and refusals.
    expect(outcomes.ok).toBeGreaterThan(20);
    expect(outcomes.failed).toBeGreaterThan(20);
  }, 300_000);
});
