// `conclave server` as a real process with etcd's TLS flags on both ports (https client and
// peer URLs, client and peer certificate auth), driven by etcdctl 3.4 with and without a
// client certificate; then SIGTERM stops it with exit 0. Readiness is polled, not timed.
// Fails under CI=true when etcdctl or openssl is missing.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingBinaries } from '../../support/binaries.js';
import { freePorts } from '../../support/ports.js';
import { waitFor } from '../../support/wait.js';
import { ConclaveProcess } from '../../integration/support/conclave-process.js';
import { TestPki } from './support/pki.js';

const skip = missingBinaries('etcdctl', 'openssl');

function etcdctl(args: string[]): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile('etcdctl', args, { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 15_000 }, (error, stdout, stderr) => resolve({ ok: error === null, output: stdout + stderr }));
  });
}

describe.skipIf(skip !== undefined)('conclave server with TLS flags', () => {
  let pki: TestPki;
  let dataDir: string;
  let server: ConclaveProcess | undefined;

  beforeAll(async () => {
    pki = new TestPki();
    dataDir = await mkdtemp(join(tmpdir(), 'conclave-tls-cli-'));
  });

  afterAll(async () => {
    await server?.kill();
    await rm(dataDir, { recursive: true, force: true });
    pki?.remove();
  });

  it('serves https with client-cert-auth on the client port and mTLS on the peer port', async () => {
    const [clientPort, peerPort] = await freePorts(2);
    const cert = pki.ca.issue('server');
    const peer = pki.ca.issue('peer');
    const user = pki.ca.issue('user');
    const endpoint = `https://127.0.0.1:${clientPort}`;
    server = new ConclaveProcess([
      'server', '--name', 'tls', '--data-dir', dataDir,
      '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
      '--listen-peer-urls', `https://127.0.0.1:${peerPort}`, '--initial-advertise-peer-urls', `https://127.0.0.1:${peerPort}`,
      '--initial-cluster', `tls=https://127.0.0.1:${peerPort}`,
      '--cert-file', cert.cert, '--key-file', cert.key, '--trusted-ca-file', pki.ca.cert, '--client-cert-auth',
      '--peer-cert-file', peer.cert, '--peer-key-file', peer.key, '--peer-trusted-ca-file', pki.ca.cert, '--peer-client-cert-auth',
    ]);
    const authenticated = [`--endpoints=${endpoint}`, `--cacert=${pki.ca.cert}`, `--cert=${user.cert}`, `--key=${user.key}`, '--dial-timeout=3s'];
    await waitFor(async () => {
      if (!server!.running) throw new Error(`conclave server exited:\n${server!.log}`);
      const health = await etcdctl([...authenticated, 'endpoint', 'health']);
      expect(health.output).toMatch(/is healthy/);
    }, { timeout: 60_000, interval: 200 });

    expect(await etcdctl([...authenticated, 'put', 'cli/tls', 'v'])).toEqual({ ok: true, output: 'OK\n' });
    expect(await etcdctl([...authenticated, 'get', 'cli/tls', '--print-value-only'])).toEqual({ ok: true, output: 'v\n' });
    const members = await etcdctl([...authenticated, 'member', 'list']);
    expect(members.output).toContain(`https://127.0.0.1:${peerPort}, ${endpoint}`);
    const anonymous = await etcdctl([`--endpoints=${endpoint}`, `--cacert=${pki.ca.cert}`, '--dial-timeout=1s', '--command-timeout=1s', 'get', 'cli/tls']);
    expect(anonymous.ok).toBe(false);

    server.signal('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
  });
});
