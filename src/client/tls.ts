/**
 * The SDK's `tls` option: PEM material turned into gRPC channel credentials, so callers need
 * not import (and version-match) @grpc/grpc-js themselves to reach a member over https.
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

export function tlsCredentials(tls: TlsOptions): grpc.ChannelCredentials {
  if (typeof tls !== 'object' || tls === null) throw new InvalidOptionError('tls', 'must be an object with ca, cert and key');
  const pem = (name: keyof TlsOptions): Buffer | null => {
    const value = tls[name];
    if (value === undefined) return null;
    if (typeof value === 'string') return Buffer.from(value);
    if (Buffer.isBuffer(value)) return value;
    throw new InvalidOptionError(`tls.${name}`, 'must be PEM text (a string or a Buffer)');
  };
  const [ca, cert, key] = [pem('ca'), pem('cert'), pem('key')];
  if ((cert === null) !== (key === null)) throw new InvalidOptionError(cert === null ? 'tls.cert' : 'tls.key', 'tls.cert and tls.key go together');
  return grpc.credentials.createSsl(ca, key, cert);
}
