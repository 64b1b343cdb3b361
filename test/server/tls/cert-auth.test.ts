// --client-cert-auth with authentication on: the verified client certificate's CN is the
// user (etcd's rule), so a --no-password user signs in with its certificate alone; a
// password login on the same connection takes priority; a CN that names no user gets
// nothing.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, PermissionDeniedError } from '../../../src/client/index.js';
import { startMember } from '../../../src/server/index.js';
import type { RunningMember } from '../../../src/server/index.js';
import { missingBinaries } from '../../support/binaries.js';
import { TestPki } from './support/pki.js';

const skip = missingBinaries('openssl');

describe.skipIf(skip !== undefined)('client certificate CN as the user', () => {
  let pki: TestPki;
  let member: RunningMember;
  let dataDir: string;
  let endpoint: string;
  const clients: Client[] = [];
  const clientWithCert = (cn: string, auth?: { username: string; password: string }): Client => {
    const cert = pki.ca.issue(cn);
    const c = new Client({
      endpoints: [endpoint], callTimeoutMs: 5_000, retry: { retries: 0 }, ...(auth === undefined ? {} : { auth }),
      tls: { ca: readFileSync(pki.ca.cert, 'utf8'), cert: readFileSync(cert.cert), key: readFileSync(cert.key, 'utf8') },
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    pki = new TestPki();
    const server = pki.ca.issue('server');
    dataDir = await mkdtemp(join(tmpdir(), 'conclave-cert-auth-'));
    member = await startMember({
      dataDir, bcryptCost: 4,
      listenClientUrls: ['https://127.0.0.1:0'], listenPeerUrls: ['http://127.0.0.1:0'],
      initialAdvertisePeerUrls: ['http://127.0.0.1:1'], initialCluster: 'default=http://127.0.0.1:1',
      certFile: server.cert, keyFile: server.key, trustedCaFile: pki.ca.cert, clientCertAuth: true,
    });
    endpoint = member.clientUrls[0]!;
    const admin = clientWithCert('setup');
    await admin.auth.userAdd('root', 'root-pw');
    await admin.auth.userGrantRole('root', 'root');
    await admin.auth.roleAdd('cn');
    await admin.auth.roleGrantPermission('cn', { type: 'readwrite', prefix: 'cn/' });
    await admin.auth.userAdd('alice', { noPassword: true });
    await admin.auth.userGrantRole('alice', 'cn');
    await admin.auth.enable();
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.destroy();
    await member?.destroy();
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
    pki?.remove();
  });

  it('a certificate with CN=alice acts as alice without a password', async () => {
    const alice = clientWithCert('alice');
    await alice.put('cn/x', '1');
    expect((await alice.get('cn/x')).kvs[0]?.value.toString()).toBe('1');
    await expect(alice.put('other', '1')).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(alice.auth.userList()).rejects.toBeInstanceOf(PermissionDeniedError);
  });

  it('a no-password user cannot log in with a password; a password login wins over the CN', async () => {
    await expect(clientWithCert('setup', { username: 'alice', password: '' }).get('cn/x')).rejects.toMatchObject({ code: 'ERR_ETCD_AUTH_FAILED' });
    const root = clientWithCert('alice', { username: 'root', password: 'root-pw' });
    expect(await root.auth.userList()).toEqual(['alice', 'root']);
  });

  it('a CN that names no user is refused', async () => {
    await expect(clientWithCert('mallory').get('cn/x')).rejects.toBeInstanceOf(PermissionDeniedError);
  });
});
