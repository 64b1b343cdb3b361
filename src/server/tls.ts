/**
 * TLS for a member's two ports. Options name PEM files (etcd's `--cert-file`, `--key-file`,
 * `--trusted-ca-file`, `--client-cert-auth` and their `--peer-` twins); they are read and
 * checked once, when the options are resolved, so a wrong path, a key that does not belong
 * to its certificate, or an https URL without a certificate is refused before anything binds,
 * with an error naming the option. Both ports serve TLS 1.2 or later (Node's default minimum).
 * The peer port is grpc-js's own TLS (h2 over ALPN); the client port terminates TLS in
 * http/shared-listener.ts and offers h2 and http/1.1 over ALPN, as etcd serves gRPC and
 * /metrics, /health on one https port.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ServerCredentials, credentials } from '@grpc/grpc-js';
import type { ChannelCredentials } from '@grpc/grpc-js';
import { InvalidOptionError } from '../base/errors.js';

/** One port's TLS material, read from the files the options name. */
export interface TlsMaterial {
  /** PEM certificate chain this member presents (as a server, and to peers as a client). */
  readonly cert: Buffer;
  /** PEM private key of `cert`. */
  readonly key: Buffer;
  /** PEM CA bundle that verifies the other side; undefined: Node's default roots. */
  readonly ca: Buffer | undefined;
  /** Require and verify a certificate from every connecting client (mTLS). */
  readonly clientCertAuth: boolean;
}

/** The option names of one port's TLS settings (client port or peer port). */
export interface TlsOptionNames {
  readonly certFile: string;
  readonly keyFile: string;
  readonly trustedCaFile: string;
  readonly clientCertAuth: string;
  /** The listen URLs option whose https URLs need the material. */
  readonly urls: string;
}

export const CLIENT_TLS_OPTIONS: TlsOptionNames = { certFile: 'certFile', keyFile: 'keyFile', trustedCaFile: 'trustedCaFile', clientCertAuth: 'clientCertAuth', urls: 'listenClientUrls' };
export const PEER_TLS_OPTIONS: TlsOptionNames = { certFile: 'peerCertFile', keyFile: 'peerKeyFile', trustedCaFile: 'peerTrustedCaFile', clientCertAuth: 'peerClientCertAuth', urls: 'listenPeerUrls' };

/** Largest PEM file read (a long chain or CA bundle is well under this). */
const MAX_PEM_FILE_BYTES = 1024 * 1024;

export interface TlsSettings {
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
  readonly trustedCaFile?: string | undefined;
  readonly clientCertAuth?: boolean | undefined;
}

/**
 * Checks one port's TLS settings against its listen URLs and reads the files. https URLs
 * need a certificate and key; TLS files with only http URLs are refused (a member the
 * operator meant to secure must not silently serve plain text); a mix of http and https
 * listeners is allowed, each served as its scheme says. `clientCertAuth` needs a CA to
 * verify client certificates with.
 */
export function resolveTls(names: TlsOptionNames, settings: TlsSettings, listenUrls: readonly string[], read: (path: string) => Buffer = readPem): TlsMaterial | undefined {
  const certFile = optionalPath(names.certFile, settings.certFile);
  const keyFile = optionalPath(names.keyFile, settings.keyFile);
  const trustedCaFile = optionalPath(names.trustedCaFile, settings.trustedCaFile);
  const clientCertAuth = settings.clientCertAuth ?? false;
  if (typeof clientCertAuth !== 'boolean') throw new InvalidOptionError(names.clientCertAuth, 'must be a boolean');
  const https = listenUrls.filter((url) => url.startsWith('https:'));
  if (certFile === undefined || keyFile === undefined) {
    if (certFile !== undefined) throw new InvalidOptionError(names.keyFile, `is required with ${names.certFile}`);
    if (keyFile !== undefined) throw new InvalidOptionError(names.certFile, `is required with ${names.keyFile}`);
    if (https.length > 0) throw new InvalidOptionError(names.urls, `${https[0]} is https: ${names.certFile} and ${names.keyFile} are required`);
    if (trustedCaFile !== undefined) throw new InvalidOptionError(names.trustedCaFile, `needs ${names.certFile} and ${names.keyFile} (TLS is off without them)`);
    if (clientCertAuth) throw new InvalidOptionError(names.clientCertAuth, `needs ${names.certFile} and ${names.keyFile} (TLS is off without them)`);
    return undefined;
  }
  if (https.length === 0) throw new InvalidOptionError(names.certFile, `is set but no ${names.urls} URL is https: use https:// URLs or drop the TLS files`);
  if (clientCertAuth && trustedCaFile === undefined) throw new InvalidOptionError(names.clientCertAuth, `needs ${names.trustedCaFile}: the CA that signs the certificates clients present`);
  const cert = loadFile(names.certFile, certFile, read);
  const key = loadFile(names.keyFile, keyFile, read);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    throw new InvalidOptionError(names.certFile, `${certFile} holds no PEM certificate (${(error as Error).message})`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new InvalidOptionError(names.keyFile, `${keyFile} holds no readable PEM private key (${(error as Error).message})`);
  }
  if (!certificate.checkPrivateKey(privateKey)) throw new InvalidOptionError(names.keyFile, `${keyFile} is not the private key of the certificate in ${certFile}`);
  let ca: Buffer | undefined;
  if (trustedCaFile !== undefined) {
    ca = loadFile(names.trustedCaFile, trustedCaFile, read);
    try {
      new X509Certificate(ca);
    } catch (error) {
      throw new InvalidOptionError(names.trustedCaFile, `${trustedCaFile} holds no PEM certificate (${(error as Error).message})`);
    }
  }
  return { cert, key, ca, clientCertAuth };
}

function optionalPath(option: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new InvalidOptionError(option, 'must be a non-empty file path');
  return value;
}

function readPem(path: string): Buffer {
  return readFileSync(path);
}

function loadFile(option: string, path: string, read: (path: string) => Buffer): Buffer {
  let data: Buffer;
  try {
    data = read(path);
  } catch (error) {
    throw new InvalidOptionError(option, `cannot read ${path}: ${(error as Error).message}`);
  }
  if (data.byteLength > MAX_PEM_FILE_BYTES) throw new InvalidOptionError(option, `${path} is larger than ${MAX_PEM_FILE_BYTES} bytes`);
  return data;
}

/** Credentials for a listener on `url`: TLS (with mTLS when asked) for https, plain for http. */
export function serverCredentialsFor(url: string, tls: TlsMaterial | undefined): ServerCredentials {
  if (!url.startsWith('https:')) return ServerCredentials.createInsecure();
  const material = tlsSettingsFor(url, tls);
  return ServerCredentials.createSsl(material.ca ?? null, [{ cert_chain: material.cert, private_key: material.key }], material.clientCertAuth);
}

/** The material an https listener on `url` serves with (the client port terminates TLS itself, to offer HTTP/1.1 beside h2). */
export function tlsSettingsFor(url: string, tls: TlsMaterial | undefined): TlsMaterial {
  // Option resolution refuses https URLs without material; this guards direct callers.
  if (tls === undefined) throw new InvalidOptionError('tls', `${url} is https but no certificate and key were given`);
  return tls;
}

/**
 * Credentials for dialing a peer at `url`: for https, verify the peer with our peer CA (Node's
 * roots without one) and present our peer certificate, which a peer with peerClientCertAuth
 * checks; plain for http.
 */
export function channelCredentialsFor(url: string, tls: TlsMaterial | undefined): ChannelCredentials {
  if (!url.startsWith('https:')) return credentials.createInsecure();
  return credentials.createSsl(tls?.ca ?? null, tls?.key ?? null, tls?.cert ?? null);
}
