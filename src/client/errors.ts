/**
 * Typed errors for everything the client reports. etcd identifies an error by its gRPC code and
 * exact message text; we map that pair to a stable `code` (ERR_ETCD_*) callers can match on,
 * and keep the gRPC code and server text for logs. Transport failures get ERR_UNAVAILABLE,
 * ERR_DEADLINE_EXCEEDED and friends.
 */
import { ConclaveError } from '../base/index.js';

/** gRPC status codes we refer to by name. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** etcd's message (after the `etcdserver: ` prefix) -> our stable code. */
const etcdMessages: ReadonlyMap<string, string> = new Map([
  ['key is not provided', 'ERR_ETCD_EMPTY_KEY'],
  ['key not found', 'ERR_ETCD_KEY_NOT_FOUND'],
  ['value is provided', 'ERR_ETCD_VALUE_PROVIDED'],
  ['lease is provided', 'ERR_ETCD_LEASE_PROVIDED'],
  ['too many operations in txn request', 'ERR_ETCD_TOO_MANY_OPS'],
  ['duplicate key given in txn request', 'ERR_ETCD_DUPLICATE_KEY'],
  ['invalid sort option', 'ERR_ETCD_INVALID_SORT_OPTION'],
  ['mvcc: required revision has been compacted', 'ERR_ETCD_COMPACTED'],
  ['mvcc: required revision is a future revision', 'ERR_ETCD_FUTURE_REV'],
  ['mvcc: database space exceeded', 'ERR_ETCD_NO_SPACE'],
  ['requested lease not found', 'ERR_ETCD_LEASE_NOT_FOUND'],
  ['lease already exists', 'ERR_ETCD_LEASE_EXIST'],
  ['too large lease TTL', 'ERR_ETCD_LEASE_TTL_TOO_LARGE'],
  ['watch canceled', 'ERR_ETCD_WATCH_CANCELED'],
  ['member ID already exist', 'ERR_ETCD_MEMBER_EXIST'],
  ['Peer URLs already exists', 'ERR_ETCD_PEER_URL_EXIST'],
  ['re-configuration failed due to not enough started members', 'ERR_ETCD_MEMBER_NOT_ENOUGH_STARTED'],
  ['given member URLs are invalid', 'ERR_ETCD_MEMBER_BAD_URLS'],
  ['member not found', 'ERR_ETCD_MEMBER_NOT_FOUND'],
  ['can only promote a learner member', 'ERR_ETCD_MEMBER_NOT_LEARNER'],
  ['can only promote a learner member which is in sync with leader', 'ERR_ETCD_LEARNER_NOT_READY'],
  ['too many learner members in cluster', 'ERR_ETCD_TOO_MANY_LEARNERS'],
  ['cluster ID mismatch', 'ERR_ETCD_CLUSTER_ID_MISMATCH'],
  ['request is too large', 'ERR_ETCD_REQUEST_TOO_LARGE'],
  ['too many requests', 'ERR_ETCD_TOO_MANY_REQUESTS'],
  ['root user does not exist', 'ERR_ETCD_ROOT_USER_NOT_EXIST'],
  ['root user does not have root role', 'ERR_ETCD_ROOT_ROLE_NOT_EXIST'],
  ['user name already exists', 'ERR_ETCD_USER_ALREADY_EXIST'],
  ['user name is empty', 'ERR_ETCD_USER_EMPTY'],
  ['user name not found', 'ERR_ETCD_USER_NOT_FOUND'],
  ['role name already exists', 'ERR_ETCD_ROLE_ALREADY_EXIST'],
  ['role name not found', 'ERR_ETCD_ROLE_NOT_FOUND'],
  ['role name is empty', 'ERR_ETCD_ROLE_EMPTY'],
  ['authentication failed, invalid user ID or password', 'ERR_ETCD_AUTH_FAILED'],
  ['permission not given', 'ERR_ETCD_PERMISSION_NOT_GIVEN'],
  ['permission denied', 'ERR_ETCD_PERMISSION_DENIED'],
  ['role is not granted to the user', 'ERR_ETCD_ROLE_NOT_GRANTED'],
  ['permission is not granted to the role', 'ERR_ETCD_PERMISSION_NOT_GRANTED'],
  ['authentication is not enabled', 'ERR_ETCD_AUTH_NOT_ENABLED'],
  ['invalid auth token', 'ERR_ETCD_INVALID_AUTH_TOKEN'],
  ['invalid auth management', 'ERR_ETCD_INVALID_AUTH_MGMT'],
  ['revision of auth store is old', 'ERR_ETCD_AUTH_OLD_REVISION'],
  ['no leader', 'ERR_ETCD_NO_LEADER'],
  ['not leader', 'ERR_ETCD_NOT_LEADER'],
  ['leader changed', 'ERR_ETCD_LEADER_CHANGED'],
  ['not capable', 'ERR_ETCD_NOT_CAPABLE'],
  ['server stopped', 'ERR_ETCD_STOPPED'],
  ['request timed out', 'ERR_ETCD_TIMEOUT'],
  ['request timed out, possibly due to previous leader failure', 'ERR_ETCD_TIMEOUT_DUE_TO_LEADER_FAIL'],
  ['request timed out, possibly due to connection lost', 'ERR_ETCD_TIMEOUT_DUE_TO_CONNECTION_LOST'],
  ['request timed out, waiting for the applied index took too long', 'ERR_ETCD_TIMEOUT_WAIT_APPLIED_INDEX'],
  ['unhealthy cluster', 'ERR_ETCD_UNHEALTHY'],
  ['corrupt cluster', 'ERR_ETCD_CORRUPT'],
  ['rpc not supported for learner', 'ERR_ETCD_NOT_SUPPORTED_FOR_LEARNER'],
  ['bad leader transferee', 'ERR_ETCD_BAD_LEADER_TRANSFEREE'],
  ['request canceled', 'ERR_ETCD_CANCELED'],
  ['context deadline exceeded', 'ERR_ETCD_DEADLINE_EXCEEDED'],
]);

/**
 * Server errors after which a read may be repeated: the cluster was between leaders or busy.
 * Transport-level UNAVAILABLE is retryable too (see `fromGrpcError`).
 */
const transientEtcdCodes = new Set([
  'ERR_ETCD_NO_LEADER', 'ERR_ETCD_NOT_LEADER', 'ERR_ETCD_LEADER_CHANGED', 'ERR_ETCD_STOPPED',
  'ERR_ETCD_TIMEOUT', 'ERR_ETCD_TIMEOUT_DUE_TO_LEADER_FAIL', 'ERR_ETCD_TIMEOUT_DUE_TO_CONNECTION_LOST',
  'ERR_ETCD_TIMEOUT_WAIT_APPLIED_INDEX', 'ERR_ETCD_UNHEALTHY', 'ERR_ETCD_TOO_MANY_REQUESTS',
]);

/** An error answered by the server or raised by the transport for one call. */
export class EtcdError extends ConclaveError {
  /** The gRPC status code (see `GrpcStatus`). */
  readonly grpcCode: number;
  /** The server's error text, e.g. `etcdserver: requested lease not found`. */
  readonly details: string;

  constructor(code: string, grpcCode: number, details: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(code, details === '' ? code : details, options);
    this.name = 'EtcdError';
    this.grpcCode = grpcCode;
    this.details = details;
  }
}

/**
 * The caller lacks the permission (etcd's "permission denied", also the "auth: permission
 * denied" of Maintenance calls). An EtcdError, so code that matches EtcdError keeps working.
 */
export class PermissionDeniedError extends EtcdError {
  constructor(grpcCode: number, details: string, options: { cause?: unknown } = {}) {
    super('ERR_ETCD_PERMISSION_DENIED', grpcCode, details, options);
    this.name = 'PermissionDeniedError';
  }
}

/** A watch ended because its start revision is older than the server's compaction point. */
export class WatchCompactedError extends ConclaveError {
  /** The oldest revision still available; re-list and watch from here. */
  readonly compactRevision: bigint;

  constructor(compactRevision: bigint) {
    super('ERR_WATCH_COMPACTED', `the watch start revision was compacted (oldest available revision ${compactRevision})`);
    this.name = 'WatchCompactedError';
    this.compactRevision = compactRevision;
  }
}

/** The client was closed or destroyed; `cause` carries the destroy reason if any. */
export class ClientClosedError extends ConclaveError {
  constructor(cause?: unknown) {
    super('ERR_CLIENT_CLOSED', 'the client is closed', cause === undefined ? {} : { cause });
    this.name = 'ClientClosedError';
  }
}

/** A call's own deadline (`timeoutMs`) passed before an answer arrived. */
export class CallTimeoutError extends ConclaveError {
  constructor(method: string, timeoutMs: number) {
    super('ERR_CALL_TIMEOUT', `${method} got no answer within ${timeoutMs} ms`);
    this.name = 'CallTimeoutError';
  }
}

interface GrpcLikeError {
  code?: unknown;
  details?: unknown;
  message?: unknown;
}

const transportCodes: Record<number, string> = {
  [GrpcStatus.CANCELLED]: 'ERR_CANCELLED',
  [GrpcStatus.UNKNOWN]: 'ERR_UNKNOWN',
  [GrpcStatus.DEADLINE_EXCEEDED]: 'ERR_DEADLINE_EXCEEDED',
  [GrpcStatus.RESOURCE_EXHAUSTED]: 'ERR_RESOURCE_EXHAUSTED',
  [GrpcStatus.UNIMPLEMENTED]: 'ERR_UNIMPLEMENTED',
  [GrpcStatus.INTERNAL]: 'ERR_INTERNAL',
  [GrpcStatus.UNAVAILABLE]: 'ERR_UNAVAILABLE',
  [GrpcStatus.UNAUTHENTICATED]: 'ERR_UNAUTHENTICATED',
  [GrpcStatus.PERMISSION_DENIED]: 'ERR_PERMISSION_DENIED',
};

/** The stable code for an etcd server message, or undefined for text we do not know. */
export function codeForEtcdMessage(details: string): string | undefined {
  // etcd 3.4's Maintenance answers auth refusals with the auth package's "auth: " prefix.
  const text = details.startsWith('etcdserver: ') ? details.slice('etcdserver: '.length) : details.startsWith('auth: ') ? details.slice('auth: '.length) : details;
  return etcdMessages.get(text);
}

/**
 * Turns whatever grpc-js raised into an EtcdError. `idempotent` says whether the call may be
 * repeated; only then can the error be marked retryable.
 */
export function fromGrpcError(error: unknown, idempotent: boolean): EtcdError {
  if (error instanceof EtcdError) return error;
  const raw = (typeof error === 'object' && error !== null ? error : {}) as GrpcLikeError;
  const grpcCode = typeof raw.code === 'number' ? raw.code : GrpcStatus.UNKNOWN;
  const details = typeof raw.details === 'string' ? raw.details : typeof raw.message === 'string' ? raw.message : String(error);
  const known = codeForEtcdMessage(details);
  const code = known ?? transportCodes[grpcCode] ?? `ERR_GRPC_${grpcCode}`;
  const transient = known !== undefined ? transientEtcdCodes.has(known) : grpcCode === GrpcStatus.UNAVAILABLE;
  if (known === 'ERR_ETCD_PERMISSION_DENIED') return new PermissionDeniedError(grpcCode, details, { cause: error });
  return new EtcdError(code, grpcCode, details, { cause: error, retryable: idempotent && transient });
}

/** True for errors that say the endpoint itself is unusable, so the next call should try another. */
export function isEndpointFailure(error: EtcdError): boolean {
  return error.grpcCode === GrpcStatus.UNAVAILABLE && codeForEtcdMessage(error.details) === undefined;
}
