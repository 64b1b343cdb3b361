// Row "curl /metrics or /health on the client URL", for https client URLs: a `conclave server`
// process and a real etcd 3.4 process, both with etcd's TLS flags and --client-cert-auth, are
// asked the same things on their one https client port. curl (which offers h2 and http/1.1 over
// ALPN) gets /health, /version and /metrics from both; without a client certificate both refuse
// the handshake; etcdctl (gRPC) works on the same port. Conclave's ALPN choice is checked on
// its own: http/1.1 whenever offered, h2 for clients offering only h2, a refusal otherwise.
// The dashboard's metrics sampler reads both over https with the CA and client certificate.
// Fails under CI=true when etcd, etcdctl, openssl or curl is missing.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrometheusText } from '../../../bench/support/prometheus-text.js';
import { missingBinaries } from '../../support/binaries.js';
import { freePorts } from '../../support/ports.js';
import { ManagedProcess } from '../../support/process.js';
import { waitFor } from '../../support/wait.js';
import { ConclaveProcess } from '../support/conclave-process.js';
import { metricsFetcher } from '../../../src/cli/dashboard/metrics-fetch.js';
import { MetricsSampler } from '../../../src/cli/dashboard/metrics-sampler.js';
import { TestPki } from '../../server/tls/support/pki.js';
import type { IssuedCert } from '../../server/tls/support/pki.js';

const skip = missingBinaries('etcd', 'etcdctl', 'openssl', 'curl');

interface Target {
  readonly name: 'conclave' | 'etcd';
  readonly url: string;
  readonly running: () => boolean;
  readonly log: () => string;
}

interface CurlResult {
  readonly ok: boolean;
  readonly status: number;
  readonly httpVersion: string;
  readonly body: string;
  readonly stderr: string;
}

/** curl with the test CA (and a client certificate unless `cert` is null); never rejects. */
function curl(url: string, ca: string, cert: IssuedCert | null): Promise<CurlResult> {
  const identity = cert === null ? [] : ['--cert', cert.cert, '--key', cert.key];
  const args = ['-sS', '--max-time', '10', '--cacert', ca, ...identity, '-w', '\n%{http_code} %{http_version}', url];
  return new Promise((resolve) => {
    execFile('curl', args, { timeout: 15_000 }, (error, stdout, stderr) => {
      const cut = stdout.lastIndexOf('\n');
      const [status, httpVersion] = stdout.slice(cut + 1).split(' ');
      resolve({ ok: error === null, status: Number(status), httpVersion: httpVersion ?? '', body: stdout.slice(0, Math.max(cut, 0)), stderr });
    });
  });
}

function etcdctl(args: string[]): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile('etcdctl', args, { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 15_000 }, (error, stdout, stderr) => resolve({ ok: error === null, output: stdout + stderr }));
  });
}

/** The ALPN protocol a TLS handshake offering `protocols` settles on, or the handshake's error. */
function negotiate(url: string, ca: string, cert: IssuedCert, protocols: string[]): Promise<string | false | null | Error> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port), ca: readFileSync(ca), cert: readFileSync(cert.cert), key: readFileSync(cert.key), ALPNProtocols: protocols });
    socket.once('secureConnect', () => {
      resolve(socket.alpnProtocol);
      socket.destroy();
    });
    socket.once('error', (error) => resolve(error));
  });
}

/** GET over node:https, whose client sends no ALPN extension. */
function httpsGetWithoutAlpn(url: string, ca: string, cert: IssuedCert): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsGet(url, { ca: readFileSync(ca), cert: readFileSync(cert.cert), key: readFileSync(cert.key), agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

describe.skipIf(skip !== undefined)('HTTP on https client URLs, Conclave beside etcd 3.4', () => {
  let pki: TestPki;
  let user: IssuedCert;
  const dirs: string[] = [];
  let conclave: ConclaveProcess | undefined;
  let etcd: ManagedProcess | undefined;
  const targets: Target[] = [];

  beforeAll(async () => {
    pki = new TestPki();
    const server = pki.ca.issue('server');
    user = pki.ca.issue('user');
    const [cClient, cPeer, eClient, ePeer] = await freePorts(4);
    const tlsFlags = ['--cert-file', server.cert, '--key-file', server.key, '--trusted-ca-file', pki.ca.cert, '--client-cert-auth'];
    const flags = (name: string, dataDir: string, clientPort: number, peerPort: number): string[] => [
      '--name', name, '--data-dir', dataDir,
      '--listen-client-urls', `https://127.0.0.1:${clientPort}`, '--advertise-client-urls', `https://127.0.0.1:${clientPort}`,
      '--listen-peer-urls', `http://127.0.0.1:${peerPort}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
      '--initial-cluster', `${name}=http://127.0.0.1:${peerPort}`, ...tlsFlags,
    ];
    const conclaveDir = await mkdtemp(join(tmpdir(), 'conclave-https-'));
    const etcdDir = await mkdtemp(join(tmpdir(), 'conclave-https-etcd-'));
    dirs.push(conclaveDir, etcdDir);
    conclave = new ConclaveProcess(['server', ...flags('https-c', conclaveDir, cClient!, cPeer!)]);
    etcd = new ManagedProcess('etcd', [...flags('https-e', etcdDir, eClient!, ePeer!), '--log-level', 'error', '--logger', 'zap']);
    targets.push(
      { name: 'conclave', url: `https://127.0.0.1:${cClient}`, running: () => conclave!.running, log: () => conclave!.log },
      { name: 'etcd', url: `https://127.0.0.1:${eClient}`, running: () => etcd!.running, log: () => etcd!.log },
    );
    for (const target of targets) {
      await waitFor(async () => {
        if (!target.running()) throw new Error(`${target.name} exited:\n${target.log()}`);
        expect((await curl(`${target.url}/health`, pki.ca.cert, user)).status).toBe(200);
      }, { timeout: 60_000, interval: 200 });
    }
  }, 90_000);

  afterAll(async () => {
    await conclave?.kill();
    await etcd?.kill();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    pki?.remove();
  });

  it('answers /health, /version and /metrics to curl with a client certificate, as etcd does', async () => {
    for (const target of targets) {
      const health = await curl(`${target.url}/health`, pki.ca.cert, user);
      expect(health, target.name).toMatchObject({ ok: true, status: 200 });
      expect(JSON.parse(health.body), target.name).toMatchObject({ health: 'true' });

      const version = await curl(`${target.url}/version`, pki.ca.cert, user);
      expect(version.status, target.name).toBe(200);
      expect(JSON.parse(version.body), target.name).toHaveProperty('etcdserver');

      const metrics = await curl(`${target.url}/metrics`, pki.ca.cert, user);
      expect(metrics.status, target.name).toBe(200);
      const families = parsePrometheusText(metrics.body);
      expect(families.get('etcd_server_has_leader')?.samples[0]?.value, target.name).toBe(1);
    }
  });

  it('refuses the handshake to a client without a certificate, on both', async () => {
    for (const target of targets) {
      const anonymous = await curl(`${target.url}/health`, pki.ca.cert, null);
      expect(anonymous.ok, `${target.name}: ${anonymous.body}`).toBe(false);
      expect(anonymous.status, target.name).toBe(0); // no HTTP answer at all
    }
  });

  it('keeps serving gRPC (etcdctl) on the same https port', async () => {
    for (const target of targets) {
      const tls = [`--endpoints=${target.url}`, `--cacert=${pki.ca.cert}`, `--cert=${user.cert}`, `--key=${user.key}`, '--dial-timeout=3s'];
      expect(await etcdctl([...tls, 'put', 'https/key', target.name]), target.name).toEqual({ ok: true, output: 'OK\n' });
      expect(await etcdctl([...tls, 'get', 'https/key', '--print-value-only']), target.name).toEqual({ ok: true, output: `${target.name}\n` });
    }
  });

  it('lets the dashboard chart members on https URLs: its sampler reads /metrics with the CA and client certificate', async () => {
    const tls = { ca: readFileSync(pki.ca.cert), cert: readFileSync(user.cert), key: readFileSync(user.key) };
    for (const target of targets) {
      const sampler = new MetricsSampler(metricsFetcher(tls));
      await sampler.scrape(target.url, 1_000, AbortSignal.timeout(10_000));
      expect(sampler.get(target.url), target.name).toMatchObject({ available: true });
      // Without the client certificate the handshake is refused, and the member is shown unavailable with the reason.
      const anonymous = new MetricsSampler(metricsFetcher({ ca: tls.ca }));
      await anonymous.scrape(target.url, 1_000, AbortSignal.timeout(10_000));
      expect(anonymous.get(target.url), target.name).toMatchObject({ available: false, reason: expect.any(String) });
    }
  });

  it('chooses http/1.1 for clients that offer it, h2 for gRPC clients, and refuses clients that offer neither', async () => {
    const url = targets[0]!.url;
    expect(await negotiate(url, pki.ca.cert, user, ['h2', 'http/1.1'])).toBe('http/1.1');
    expect(await negotiate(url, pki.ca.cert, user, ['h2'])).toBe('h2');
    expect(await negotiate(url, pki.ca.cert, user, ['grpc-exp', 'h2'])).toBe('h2');
    const refused = await negotiate(url, pki.ca.cert, user, ['acme-tls/1']);
    expect(refused).toBeInstanceOf(Error);
    expect(String(refused)).toMatch(/no application protocol|no_application_protocol/i);
    // curl offers h2 and http/1.1, so it speaks HTTP/1.1 here (etcd's Go server picks h2 and serves /health over it).
    expect((await curl(`${url}/health`, pki.ca.cert, user)).httpVersion).toBe('1.1');
    // Node's https client offers no ALPN at all: the connection is routed by its first bytes.
    expect(await httpsGetWithoutAlpn(`${url}/health`, pki.ca.cert, user)).toEqual({ status: 200, body: expect.stringContaining('"health":"true"') });
  });
});
