/**
 * The guard's auth step for one call: resolve who is calling (the `token` metadata or, with
 * --client-cert-auth, the verified client certificate's CN), decide the API-time checks of
 * enforce.ts, and hand that identity to the handler, which passes it on to its proposals.
 */
import type { Metadata } from '@grpc/grpc-js';
import type { ServerError } from '../errors.js';
import { authorizeCall } from './enforce.js';
import { maintenanceAuthError } from './errors.js';
import { ServerError as ServerErrorClass } from '../errors.js';
import type { CallIdentity } from './caller.js';
import type { AuthGate } from './gate.js';

interface CallWithAuthContext {
  readonly metadata: Metadata;
  getAuthContext?(): { sslPeerCertificate?: { subject?: { CN?: string | string[] } } } | null;
}

const ADMIN_MAINTENANCE_PREFIX = '/etcdserverpb.Maintenance/';

/**
 * Calls etcd 3.4 serves without looking at the token at all (observed: even a forged token
 * is not refused there). Watch resolves it later, at each create.
 */
const TOKEN_NOT_READ = new Set([
  '/etcdserverpb.Auth/AuthStatus', '/etcdserverpb.Maintenance/Status', '/etcdserverpb.Maintenance/MoveLeader',
  '/etcdserverpb.Cluster/MemberList', '/etcdserverpb.Lease/LeaseKeepAlive', '/etcdserverpb.Lease/LeaseLeases', '/etcdserverpb.Watch/Watch',
]);

/** The v3lock and v3election services answer through an internal client: etcd sends their errors with code Unknown. */
const RECIPE_SERVICES = ['/v3lockpb.Lock/', '/v3electionpb.Election/'];
const UNKNOWN = 2;

/** Wraps a unary callback of a recipe service so auth refusals carry code Unknown, as etcd 3.4's do. */
export function recipeCallback<T extends (error: unknown, value?: unknown) => void>(path: string, callback: T | undefined): T | undefined {
  if (callback === undefined || !RECIPE_SERVICES.some((prefix) => path.startsWith(prefix))) return callback;
  return ((error: unknown, value?: unknown) => {
    const e = error as { code?: number; details?: string } | null;
    if (e !== null && typeof e === 'object' && typeof e.details === 'string' && isAuthRefusal(e.details)) callback({ ...e, code: UNKNOWN }, value);
    else callback(error, value);
  }) as T;
}

const AUTH_REFUSALS = new Set(['etcdserver: user name is empty', 'etcdserver: permission denied', 'etcdserver: invalid auth token', 'etcdserver: revision of auth store is old']);

function isAuthRefusal(details: string): boolean {
  return AUTH_REFUSALS.has(details);
}

function commonName(call: CallWithAuthContext): string | undefined {
  const cn = call.getAuthContext?.()?.sslPeerCertificate?.subject?.CN;
  return Array.isArray(cn) ? cn[0] : cn;
}

/**
 * Calls `proceed` with the identity of `call`'s caller, or `refuse` with etcd's error. A token
 * is resolved first (even for Authenticate, as etcd 3.4 does) except where etcd never reads it.
 */
export function guardAuth(gate: AuthGate, path: string, call: CallWithAuthContext, request: unknown, maxTxnOps: number, proceed: (caller: CallIdentity) => void, refuse: (error: unknown) => void): void {
  const token = call.metadata.get('token')[0]?.toString();
  const cn = gate.clientCertAuth ? commonName(call) : undefined;
  // Most calls carry neither (auth off): one shared identity, no per-call objects.
  const anonymous = token === undefined && cn === undefined;
  if (TOKEN_NOT_READ.has(path)) {
    proceed(anonymous ? ANONYMOUS : { info: undefined, token, commonName: cn });
    return;
  }
  if (anonymous) {
    authorizeThenProceed(gate, ANONYMOUS, path, request, maxTxnOps, proceed, refuse);
    return;
  }
  gate.resolve(token, cn).then((info) => authorizeThenProceed(gate, { info, token, commonName: cn }, path, request, maxTxnOps, proceed, refuse), (error: unknown) => {
    // etcd 3.4's Maintenance answers with the auth package's texts, untranslated.
    refuse(path.startsWith(ADMIN_MAINTENANCE_PREFIX) ? maintenanceAuthError(error as ServerError) : RECIPE_SERVICES.some((p) => path.startsWith(p)) ? recipeError(error as ServerError) : error);
  });
}

/** The caller of a call that carries no token and no client certificate. */
const ANONYMOUS: CallIdentity = Object.freeze({ info: undefined, token: undefined, commonName: undefined });

function authorizeThenProceed(gate: AuthGate, identity: CallIdentity, path: string, request: unknown, maxTxnOps: number, proceed: (caller: CallIdentity) => void, refuse: (error: unknown) => void): void {
  try {
    if (request !== undefined) authorizeCall(gate, identity, path, request, maxTxnOps);
  } catch (error) {
    refuse(RECIPE_SERVICES.some((p) => path.startsWith(p)) ? recipeError(error as ServerError) : error);
    return;
  }
  proceed(identity);
}

function recipeError(error: ServerError): ServerError {
  return new ServerErrorClass(error.code, UNKNOWN, error.grpcMessage);
}
