// TLS on the client port, against a real member started in this process with certificates
// made at test time (support/pki.ts). etcdctl 3.4, the etcd3 npm client and the SDK connect
// over https (and plain http beside https on one member); the refusals (no client certificate
// under client-cert-auth, a certificate from another CA, an unknown server CA, TLS below 1.2)
// are checked by the error each side reports, the acceptances by a write read back. Fails
// under CI=true when etcdctl or openssl is missing.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:tls';
import type { ConnectionOptions } from 'node:tls';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../../src/client/index.js';
import { startMember } from '../../../src/server/index.js';
import type { MemberOptions, RunningMember } from '../../../src/server/index.js';
import { missingBinaries } from '../../support/binaries.js';
import { TestPki } from './support/pki.js';
import type { IssuedCert } from './support/pki.js';

const skip = missingBinaries('etcdctl', 'openssl');

interface CtlResult {
  readonly ok: boolean;
  readonly output: string;
}

/**
 * etcdctl with the given TLS flags; resolves (never rejects) with its exit status and output.
 * A refused handshake shows only as a deadline (etcdctl retries until its command timeout),
 * so calls expected to fail get a short one; the handshake's reason is checked with node:tls.
 */
function etcdctl(endpoint: string, tlsArgs: string[], args: string[], expect: 'ok' | 'refused' = 'ok'): Promise<CtlResult> {
  const timeout = expect === 'ok' ? ['--dial-timeout=3s', '--command-timeout=10s'] : ['--dial-timeout=1s', '--command-timeout=1s'];
  return new Promise((resolve) => {
    execFile('etcdctl', [`--endpoints=${endpoint}`, ...timeout, ...tlsArgs, ...args], { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 15_000 }, (error, stdout, stderr) => {
      resolve({ ok: error === null, output: stdout + stderr });
    });
  });
}

interface Handshake {
  readonly protocol: string | null;
  readonly alpn: string | false | null;
}

/**
 * A raw TLS connection to `endpoint`: resolves once the server has sent its first bytes (its
 * HTTP/2 SETTINGS, so it accepted us; under TLS 1.3 a refused client certificate arrives as an
 * alert after the client's side of the handshake), rejects with the TLS error otherwise.
 */
function probe(endpoint: string, options: ConnectionOptions): Promise<Handshake> {
  const { hostname, port } = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), ALPNProtocols: ['h2'], ...options });
    socket.once('data', () => {
      resolve({ protocol: socket.getProtocol(), alpn: socket.alpnProtocol });
      socket.destroy();
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed without data')));
  });
}

describe.skipIf(skip !== undefined)('client port TLS', () => {
  let pki: TestPki;
  let server: IssuedCert;
  let client: IssuedCert;
  let rogueClient: IssuedCert;
  const members: RunningMember[] = [];
  const dirs: string[] = [];

  async function start(options: Partial<MemberOptions>): Promise<{ member: RunningMember; endpoint: string }> {
    const dataDir = await mkdtemp(join(tmpdir(), 'conclave-tls-member-'));
    dirs.push(dataDir);
    const member = await startMember({
      dataDir,
      listenClientUrls: ['https://127.0.0.1:0'],
      listenPeerUrls: ['http://127.0.0.1:0'],
      initialAdvertisePeerUrls: ['http://127.0.0.1:1'],
      initialCluster: 'default=http://127.0.0.1:1',
      heartbeatIntervalMs: 20,
      electionTimeoutMs: 200,
      certFile: server.cert,
      keyFile: server.key,
      ...options,
    });
    members.push(member);
    return { member, endpoint: member.clientUrls[0]! };
  }

  beforeAll(() => {
    pki = new TestPki();
    server = pki.ca.issue('server');
    client = pki.ca.issue('client');
    rogueClient = pki.rogue.issue('rogue-client');
  });

  afterAll(async () => {
    await Promise.all(members.map((m) => m.destroy()));
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    pki?.remove();
  });

  it('serves etcdctl over https with --cacert, and refuses a client that does not trust the server CA', async () => {
    const { endpoint } = await start({});
    expect(endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const put = await etcdctl(endpoint, [`--cacert=${pki.ca.cert}`], ['put', 'tls/a', 'one']);
    expect(put).toEqual({ ok: true, output: 'OK\n' });
    const get = await etcdctl(endpoint, [`--cacert=${pki.ca.cert}`], ['get', 'tls/a', '--print-value-only']);
    expect(get).toEqual({ ok: true, output: 'one\n' });
    // Trusting another CA: the server's certificate does not verify.
    const wrongCa = await etcdctl(endpoint, [`--cacert=${pki.rogue.cert}`], ['get', 'tls/a'], 'refused');
    expect(wrongCa.ok).toBe(false);
    // Plain text to a TLS port gets no answer.
    const plain = await etcdctl(endpoint.replace('https:', 'http:'), [], ['get', 'tls/a'], 'refused');
    expect(plain.ok).toBe(false);
  });

  it('with client-cert-auth: etcdctl without a client certificate fails, with one it works, with one from another CA it is refused', async () => {
    const { endpoint } = await start({ trustedCaFile: pki.ca.cert, clientCertAuth: true });
    const noCert = await etcdctl(endpoint, [`--cacert=${pki.ca.cert}`], ['put', 'mtls/a', 'x'], 'refused');
    expect(noCert.ok).toBe(false);
    const withCert = await etcdctl(endpoint, [`--cacert=${pki.ca.cert}`, `--cert=${client.cert}`, `--key=${client.key}`], ['put', 'mtls/a', 'x']);
    expect(withCert).toEqual({ ok: true, output: 'OK\n' });
    const rogue = await etcdctl(endpoint, [`--cacert=${pki.ca.cert}`, `--cert=${rogueClient.cert}`, `--key=${rogueClient.key}`], ['put', 'mtls/b', 'y'], 'refused');
    expect(rogue.ok).toBe(false);
    // The server's own reasons, seen on a raw connection.
    const ca = readFileSync(pki.ca.cert);
    await expect(probe(endpoint, { ca })).rejects.toThrow(/certificate required|handshake failure/);
    // Node checks a presented certificate after the handshake and closes the socket, with no alert, when it does not verify.
    await expect(probe(endpoint, { ca, cert: readFileSync(rogueClient.cert), key: readFileSync(rogueClient.key) })).rejects.toThrow(/closed without data|unknown ca|ECONNRESET/);
    expect(await probe(endpoint, { ca, cert: readFileSync(client.cert), key: readFileSync(client.key) })).toMatchObject({ alpn: 'h2' });
    const check = await etcdctl(endpoint, [`--cacert=${pki.ca.cert}`, `--cert=${client.cert}`, `--key=${client.key}`], ['get', 'mtls/', '--prefix', '--keys-only']);
    // Only the authenticated write landed.
    expect(check.output.trim()).toBe('mtls/a');
  });

  it('serves the SDK over TLS through its tls and credentials options, and the handshake rejects it without a client certificate', async () => {
    const { endpoint } = await start({ trustedCaFile: pki.ca.cert, clientCertAuth: true });
    const ca = readFileSync(pki.ca.cert);
    const sdk = new Client({ endpoints: [endpoint], tls: { ca: ca.toString(), cert: readFileSync(client.cert), key: readFileSync(client.key, 'utf8') }, callTimeoutMs: 5_000 });
    try {
      await sdk.put('sdk/tls', 'yes');
      expect(await sdk.get('sdk/tls').string()).toBe('yes');
    } finally {
      await sdk.close();
    }
    const viaCredentials = new Client({ endpoints: [endpoint], credentials: credentials.createSsl(ca, readFileSync(client.key), readFileSync(client.cert)), callTimeoutMs: 5_000 });
    try {
      expect(await viaCredentials.get('sdk/tls').string()).toBe('yes');
    } finally {
      await viaCredentials.close();
    }
    expect(() => new Client({ endpoints: [endpoint], tls: { ca }, credentials: credentials.createSsl(ca) })).toThrow(/tls: give tls or credentials, not both/);
    expect(() => new Client({ endpoints: [endpoint], tls: { ca, cert: readFileSync(client.cert) } })).toThrow(/tls.key: tls.cert and tls.key go together/);
    expect(() => new Client({ endpoints: [endpoint], tls: { ca: 42 as never } })).toThrow(/tls.ca: must be PEM text/);
    const anonymous = new Client({ endpoints: [endpoint], tls: { ca }, callTimeoutMs: 1_500, retry: { retries: 0 } });
    try {
      await expect(anonymous.get('sdk/tls').string()).rejects.toThrow(/certificate required/);
    } finally {
      anonymous.destroy();
    }
  });

  it('serves the etcd3 npm client over https with a client certificate', async () => {
    const { endpoint } = await start({ trustedCaFile: pki.ca.cert, clientCertAuth: true });
    const etcd = new Etcd3({
      hosts: [endpoint], dialTimeout: 5_000,
      credentials: { rootCertificate: readFileSync(pki.ca.cert), certChain: readFileSync(client.cert), privateKey: readFileSync(client.key) },
    });
    try {
      await etcd.put('etcd3/tls').value('ok');
      expect(await etcd.get('etcd3/tls').string()).toBe('ok');
    } finally {
      etcd.close();
    }
  });

  it('serves a mix of http and https listeners, each as its scheme says', async () => {
    const { member } = await start({ listenClientUrls: ['http://127.0.0.1:0', 'https://127.0.0.1:0'] });
    const [plainUrl, tlsUrl] = member.clientUrls;
    expect(plainUrl).toMatch(/^http:\/\//);
    expect(tlsUrl).toMatch(/^https:\/\//);
    expect(await etcdctl(plainUrl!, [], ['put', 'mixed/a', '1'])).toEqual({ ok: true, output: 'OK\n' });
    expect(await etcdctl(tlsUrl!, [`--cacert=${pki.ca.cert}`], ['get', 'mixed/a', '--print-value-only'])).toEqual({ ok: true, output: '1\n' });
    // TLS to the plain listener fails: nothing there speaks TLS.
    expect((await etcdctl(plainUrl!.replace('http:', 'https:'), [`--cacert=${pki.ca.cert}`], ['get', 'mixed/a'], 'refused')).ok).toBe(false);
  });

  it('negotiates TLS 1.2 or later only, with HTTP/2 over ALPN', async () => {
    const { endpoint } = await start({});
    const handshake = (versions: Pick<ConnectionOptions, 'minVersion' | 'maxVersion'>): Promise<Handshake> =>
      // SECLEVEL=0 lets this client offer TLS 1.0/1.1 at all (OpenSSL 3 refuses them at its default level), so a refusal is the server's.
      probe(endpoint, { ca: readFileSync(pki.ca.cert), ciphers: 'DEFAULT@SECLEVEL=0', ...versions });
    await expect(handshake({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1' })).rejects.toThrow(/protocol version|unsupported protocol|no protocols available|wrong version/i);
    expect(await handshake({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })).toEqual({ protocol: 'TLSv1.2', alpn: 'h2' });
    expect(await handshake({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' })).toEqual({ protocol: 'TLSv1.3', alpn: 'h2' });
  });
});
