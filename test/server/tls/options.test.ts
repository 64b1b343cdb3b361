// The TLS options' validation, on the files of a test PKI made at test time: each refused
// combination names the option to fix (and, through `conclave server`, the etcd flag), and
// the flags and config-file keys map onto the member options. No member is started.
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../../src/base/errors.js';
import { parseFlags } from '../../../src/cli/flags.js';
import type { CommandIo } from '../../../src/cli/server-command.js';
import { EXIT_USAGE, runServer } from '../../../src/cli/server-command.js';
import { REJECTED_SERVER_FLAGS, SERVER_FLAGS, readConfigFile, serverSettings } from '../../../src/cli/server-flags.js';
import { resolveMemberOptions } from '../../../src/server/member-options.js';
import type { MemberOptions } from '../../../src/server/index.js';
import { missingBinaries } from '../../support/binaries.js';
import { TestPki } from './support/pki.js';
import type { IssuedCert } from './support/pki.js';

const skip = missingBinaries('openssl');

describe.skipIf(skip !== undefined)('TLS options', () => {
  let pki: TestPki;
  let server: IssuedCert;
  let other: IssuedCert;
  const base: MemberOptions = { dataDir: '/nonexistent/never-opened' };
  const https = { listenClientUrls: ['https://127.0.0.1:2379'] };
  const resolveError = (options: Partial<MemberOptions>): InvalidOptionError => {
    try {
      resolveMemberOptions({ ...base, ...options });
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidOptionError);
      return error as InvalidOptionError;
    }
    throw new Error('resolved without an error');
  };

  beforeAll(() => {
    pki = new TestPki();
    server = pki.ca.issue('server');
    other = pki.ca.issue('other');
  });

  afterAll(() => pki?.remove());

  it('resolves client and peer TLS material from the files, mTLS only when asked', () => {
    const resolved = resolveMemberOptions({
      ...base, ...https, certFile: server.cert, keyFile: server.key, trustedCaFile: pki.ca.cert, clientCertAuth: true,
      listenPeerUrls: ['https://127.0.0.1:2380'], peerCertFile: other.cert, peerKeyFile: other.key,
    });
    expect(resolved.clientTls?.clientCertAuth).toBe(true);
    expect(resolved.clientTls?.cert.toString()).toContain('BEGIN CERTIFICATE');
    expect(resolved.clientTls?.ca?.toString()).toContain('BEGIN CERTIFICATE');
    expect(resolved.peerTls).toMatchObject({ clientCertAuth: false, ca: undefined });
    expect(resolveMemberOptions(base)).toMatchObject({ clientTls: undefined, peerTls: undefined });
  });

  it('refuses https URLs without a certificate, TLS files with only http URLs, and half a pair', () => {
    expect(resolveError(https)).toMatchObject({ option: 'listenClientUrls', message: expect.stringMatching(/https:\/\/127\.0\.0\.1:2379 is https: certFile and keyFile are required/) });
    expect(resolveError({ listenPeerUrls: ['https://127.0.0.1:2380'] }).option).toBe('listenPeerUrls');
    expect(resolveError({ certFile: server.cert, keyFile: server.key })).toMatchObject({ option: 'certFile', message: expect.stringMatching(/no listenClientUrls URL is https/) });
    expect(resolveError({ peerCertFile: server.cert, peerKeyFile: server.key }).option).toBe('peerCertFile');
    expect(resolveError({ ...https, certFile: server.cert }).option).toBe('keyFile');
    expect(resolveError({ ...https, keyFile: server.key }).option).toBe('certFile');
    expect(resolveError({ trustedCaFile: pki.ca.cert }).option).toBe('trustedCaFile');
    expect(resolveError({ peerClientCertAuth: true }).option).toBe('peerClientCertAuth');
    expect(resolveError({ ...https, certFile: server.cert, keyFile: server.key, clientCertAuth: true })).toMatchObject({ option: 'clientCertAuth', message: expect.stringMatching(/needs trustedCaFile/) });
    expect(resolveError({ ...https, certFile: '', keyFile: server.key }).option).toBe('certFile');
    expect(resolveError({ ...https, certFile: server.cert, keyFile: server.key, clientCertAuth: 'yes' as never }).option).toBe('clientCertAuth');
  });

  it('refuses unreadable files, non-PEM content and a key that is not the certificate\'s', () => {
    const missing = join(pki.dir, 'missing.pem');
    expect(resolveError({ ...https, certFile: missing, keyFile: server.key })).toMatchObject({ option: 'certFile', message: expect.stringMatching(/cannot read .*missing\.pem/) });
    const garbage = join(pki.dir, 'garbage.pem');
    writeFileSync(garbage, 'not a certificate\n');
    expect(resolveError({ ...https, certFile: garbage, keyFile: server.key })).toMatchObject({ option: 'certFile', message: expect.stringMatching(/holds no PEM certificate/) });
    expect(resolveError({ ...https, certFile: server.cert, keyFile: garbage })).toMatchObject({ option: 'keyFile', message: expect.stringMatching(/no readable PEM private key/) });
    expect(resolveError({ ...https, certFile: server.cert, keyFile: other.key })).toMatchObject({ option: 'keyFile', message: expect.stringMatching(/is not the private key of the certificate/) });
    expect(resolveError({ ...https, certFile: server.cert, keyFile: server.key, trustedCaFile: garbage }).option).toBe('trustedCaFile');
    const key = join(pki.dir, 'key-as-ca.pem');
    copyFileSync(server.key, key);
    expect(resolveError({ ...https, certFile: server.cert, keyFile: server.key, trustedCaFile: key }).option).toBe('trustedCaFile');
  });

  it('maps etcd\'s TLS flags and config-file keys onto the options; switches take no value or =true/=false', () => {
    const argv = ['--cert-file', 'c.pem', '--key-file=k.pem', '--trusted-ca-file', 'ca.pem', '--client-cert-auth',
      '--peer-cert-file', 'pc.pem', '--peer-key-file', 'pk.pem', '--peer-trusted-ca-file', 'pca.pem', '--peer-client-cert-auth=false'];
    const { values } = parseFlags(argv, SERVER_FLAGS, REJECTED_SERVER_FLAGS);
    const raw = new Map([...values].map(([k, v]) => [k, String(v)]));
    expect(serverSettings(raw).options).toMatchObject({
      certFile: 'c.pem', keyFile: 'k.pem', trustedCaFile: 'ca.pem', clientCertAuth: true,
      peerCertFile: 'pc.pem', peerKeyFile: 'pk.pem', peerTrustedCaFile: 'pca.pem', peerClientCertAuth: false,
    });
    const config = readConfigFile('c.json', () => JSON.stringify({ 'client-cert-auth': true, '--peer-client-cert-auth': 'false', 'cert-file': 'c.pem' }));
    expect(serverSettings(config).options).toMatchObject({ clientCertAuth: true, peerClientCertAuth: false, certFile: 'c.pem' });
    expect(() => serverSettings(new Map([['client-cert-auth', 'maybe']]))).toThrow(/--client-cert-auth must be true or false/);
    expect(() => readConfigFile('c.json', () => '{"cert-file": true}')).toThrow(/key "cert-file" must be a string/);
    expect(() => parseFlags(['--peer-auto-tls'], SERVER_FLAGS, REJECTED_SERVER_FLAGS)).toThrow(/--peer-auto-tls: not supported/);
  });

  it('conclave server names the etcd flag when the TLS settings are wrong, and exits with 2 before starting', async () => {
    let err = '';
    const io: CommandIo = { out: () => undefined, err: (text) => void (err += text), onStopSignal: () => () => undefined };
    const started: MemberOptions[] = [];
    const start = (options: MemberOptions) => {
      started.push(options);
      return Promise.reject(new Error('must not start'));
    };
    expect(await runServer(['--listen-client-urls', 'https://127.0.0.1:2379', '--cert-file', server.cert], io, start)).toBe(EXIT_USAGE);
    expect(err).toMatch(/conclave server: --key-file: is required with --cert-file\n/);
    err = '';
    expect(await runServer(['--listen-client-urls', 'https://127.0.0.1:2379', '--cert-file', server.cert, '--key-file', server.key, '--client-cert-auth'], io, start)).toBe(EXIT_USAGE);
    expect(err).toMatch(/--client-cert-auth: needs --trusted-ca-file: the CA that signs/);
    err = '';
    expect(await runServer(['--listen-peer-urls', 'https://127.0.0.1:2380'], io, start)).toBe(EXIT_USAGE);
    expect(err).toMatch(/--listen-peer-urls: https:\/\/127\.0\.0\.1:2380 is https: --peer-cert-file and --peer-key-file are required/);
    expect(started).toEqual([]);
  });
});
