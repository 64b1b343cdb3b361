import { ConclaveError } from '../base/errors.js';

/** gRPC status codes used by etcd's server errors (numbers as in grpc's status.proto). */
export const GrpcStatus = {
  Canceled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  OutOfRange: 11,
  Unimplemented: 12,
  Unavailable: 14,
  DataLoss: 15,
  Unauthenticated: 16,
} as const;

/**
 * An error a member answers with, carrying etcd's wire identity: the gRPC status code and
 * the exact message etcd sends (clients match on the text; see etcd's rpctypes). The same
 * shape as mvcc's EtcdRequestError, so the gRPC layer maps both by `grpcCode`/`grpcMessage`.
 */
export class ServerError extends ConclaveError {
  constructor(
    code: string,
    readonly grpcCode: number,
    readonly grpcMessage: string,
    options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(code, grpcMessage, options);
    this.name = 'ServerError';
  }
}

type ErrorSpec = readonly [code: string, grpcCode: number, text: string, retryable?: boolean];

/** etcd's server-side errors (rpctypes), by our name. Messages are etcd's, verbatim. */
const SPECS = {
  noLeader: ['ERR_NO_LEADER', GrpcStatus.Unavailable, 'etcdserver: no leader', true],
  notLeader: ['ERR_NOT_LEADER', GrpcStatus.FailedPrecondition, 'etcdserver: not leader', true],
  leaderChanged: ['ERR_LEADER_CHANGED', GrpcStatus.Unavailable, 'etcdserver: leader changed', true],
  stopped: ['ERR_STOPPED', GrpcStatus.Unavailable, 'etcdserver: server stopped', true],
  timeout: ['ERR_TIMEOUT', GrpcStatus.Unavailable, 'etcdserver: request timed out', true],
  timeoutDueToLeaderFail: ['ERR_TIMEOUT_LEADER_FAIL', GrpcStatus.Unavailable, 'etcdserver: request timed out, possibly due to previous leader failure', true],
  timeoutWaitAppliedIndex: ['ERR_TIMEOUT_WAIT_APPLIED', GrpcStatus.Unavailable, 'etcdserver: request timed out, waiting for the applied index took too long', true],
  tooManyRequests: ['ERR_TOO_MANY_REQUESTS', GrpcStatus.ResourceExhausted, 'etcdserver: too many requests', true],
  requestTooLarge: ['ERR_REQUEST_TOO_LARGE', GrpcStatus.InvalidArgument, 'etcdserver: request is too large'],
  noSpace: ['ERR_NO_SPACE', GrpcStatus.ResourceExhausted, 'etcdserver: mvcc: database space exceeded'],
  leaseNotFound: ['ERR_LEASE_NOT_FOUND', GrpcStatus.NotFound, 'etcdserver: requested lease not found'],
  memberExist: ['ERR_MEMBER_EXIST', GrpcStatus.FailedPrecondition, 'etcdserver: member ID already exist'],
  peerUrlExist: ['ERR_PEER_URL_EXIST', GrpcStatus.FailedPrecondition, 'etcdserver: Peer URLs already exists'],
  memberNotEnoughStarted: ['ERR_MEMBER_NOT_ENOUGH_STARTED', GrpcStatus.FailedPrecondition, 'etcdserver: re-configuration failed due to not enough started members'],
  memberBadUrls: ['ERR_MEMBER_BAD_URLS', GrpcStatus.InvalidArgument, 'etcdserver: given member URLs are invalid'],
  memberNotFound: ['ERR_MEMBER_NOT_FOUND', GrpcStatus.NotFound, 'etcdserver: member not found'],
  memberNotLearner: ['ERR_MEMBER_NOT_LEARNER', GrpcStatus.FailedPrecondition, 'etcdserver: can only promote a learner member'],
  learnerNotReady: ['ERR_LEARNER_NOT_READY', GrpcStatus.FailedPrecondition, 'etcdserver: can only promote a learner member which is in sync with leader'],
  tooManyLearners: ['ERR_TOO_MANY_LEARNERS', GrpcStatus.FailedPrecondition, 'etcdserver: too many learner members in cluster'],
  clusterIdMismatch: ['ERR_CLUSTER_ID_MISMATCH', GrpcStatus.FailedPrecondition, 'etcdserver: cluster ID mismatch'],
  notSupportedForLearner: ['ERR_NOT_SUPPORTED_FOR_LEARNER', GrpcStatus.Unavailable, 'etcdserver: rpc not supported for learner'],
  badLeaderTransferee: ['ERR_BAD_LEADER_TRANSFEREE', GrpcStatus.FailedPrecondition, 'etcdserver: bad leader transferee'],
  authNotEnabled: ['ERR_AUTH_NOT_ENABLED', GrpcStatus.FailedPrecondition, 'etcdserver: authentication is not enabled'],
  watchCanceled: ['ERR_WATCH_CANCELED', GrpcStatus.Canceled, 'etcdserver: watch canceled'],
  corrupt: ['ERR_CORRUPT', GrpcStatus.DataLoss, 'etcdserver: corrupt cluster'],
} as const satisfies Record<string, ErrorSpec>;

export type ServerErrorName = keyof typeof SPECS;

/** A new instance of etcd's error `name`, e.g. `serverError('noLeader')`. */
export function serverError(name: ServerErrorName, cause?: unknown): ServerError {
  const [code, grpcCode, text, retryable] = SPECS[name] as ErrorSpec;
  return new ServerError(code, grpcCode, text, { retryable: retryable ?? false, ...(cause === undefined ? {} : { cause }) });
}
