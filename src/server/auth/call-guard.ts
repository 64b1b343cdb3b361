/**
 * The guard's auth step for one call: resolve who is calling (the `token` metadata or, with
 * --client-cert-auth, the verified client certificate's CN), decide the API-time checks of
 * enforce.ts, and run the handler as that caller so proposals carry the identity to apply.
 */
import type { Metadata } from '@grpc/grpc-js';
import type { ServerError } from '../errors.js';
import { authorizeCall } from './enforce.js';
import { maintenanceAuthError } from './errors.js';
import type { AuthGate, CallIdentity } from './gate.js';

interface CallWithAuthContext {
  readonly metadata: Metadata;
  getAuthContext?(): { sslPeerCertificate?: { subject?: { CN?: string | string[] } } } | null;
}

const ADMIN_MAINTENANCE_PREFIX = '/etcdserverpb.Maintenance/';

function commonName(call: CallWithAuthContext): string | undefined {
  const cn = call.getAuthContext?.()?.sslPeerCertificate?.subject?.CN;
  return Array.isArray(cn) ? cn[0] : cn;
}

/**
 * Runs `proceed` as the caller of `call`, or calls `refuse` with etcd's error. Paths outside
 * etcd's Auth.Authenticate resolve the token first; Authenticate itself ignores it.
 */
export function guardAuth(gate: AuthGate, path: string, call: CallWithAuthContext, request: unknown, maxTxnOps: number, proceed: () => void, refuse: (error: unknown) => void): void {
  const token = path === '/etcdserverpb.Auth/Authenticate' ? undefined : call.metadata.get('token')[0]?.toString();
  const cn = gate.clientCertAuth ? commonName(call) : undefined;
  const decide = (info: CallIdentity['info']): void => {
    const identity: CallIdentity = { info, token, commonName: cn };
    gate.runAs(identity, () => {
      try {
        if (request !== undefined) authorizeCall(gate, path, request, maxTxnOps);
      } catch (error) {
        refuse(error);
        return;
      }
      proceed();
    });
  };
  if (token === undefined && cn === undefined) {
    decide(undefined);
    return;
  }
  gate.resolve(token, cn).then(decide, (error: unknown) => {
    // etcd 3.4's Maintenance answers with the auth package's texts, untranslated.
    refuse(path.startsWith(ADMIN_MAINTENANCE_PREFIX) && !path.endsWith('/Status') && !path.endsWith('/Alarm') ? maintenanceAuthError(error as ServerError) : error);
  });
}
