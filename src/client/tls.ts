/**
 * The SDK's `tls` option: PEM material for the HTTP/2 transport's TLS connections, and the same
 * material as gRPC channel credentials, so callers need not import (and version-match)
 * @grpc/grpc-js themselves to reach a member over https.
 */
import * as grpc from '@grpc/grpc-js';
import { InvalidOptionError } from '../base/index.js';

export interface TlsOptions {
  /** PEM CA bundle that verifies the server; omitted: Node's default roots. */
  readonly ca?: Buffer | string;
  /** PEM client certificate (chain), for servers with client-cert-auth; needs `key`. */
  readonly cert?: Buffer | string;
  /** PEM private key of `cert`. */
  readonly key?: Buffer | string;
}

/** The PEM material as Buffers, validated (cert and key go together). */
export interface TlsMaterial {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

export function tlsMaterial(tls: TlsOptions): TlsMaterial {
  if (typeof tls !== 'object' || tls === null) throw new InvalidOptionError('tls', 'must be an object with ca, cert and key');
  const pem = (name: keyof TlsOptions): Buffer | undefined => {
    const value = tls[name];
    if (value === undefined) return undefined;
    if (typeof value === 'string') return Buffer.from(value);
    if (Buffer.isBuffer(value)) return value;
    throw new InvalidOptionError(`tls.${name}`, 'must be PEM text (a string or a Buffer)');
  };
  const [ca, cert, key] = [pem('ca'), pem('cert'), pem('key')];
  if ((cert === undefined) !== (key === undefined)) throw new InvalidOptionError(cert === undefined ? 'tls.cert' : 'tls.key', 'tls.cert and tls.key go together');
  return { ...(ca === undefined ? {} : { ca }), ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }) };
}

/** grpc-js credentials from the same material (for the grpc-js channel and streams). */
export function tlsCredentials(material: TlsMaterial): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(material.ca ?? null, material.key ?? null, material.cert ?? null);
}
