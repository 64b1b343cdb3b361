/**
 * etcd 3.4's auth errors as a member answers them (rpctypes: gRPC code and verbatim text).
 * Maintenance calls answer with the auth package's own texts under code Unknown, because
 * etcd 3.4 returns those errors untranslated there (observed against etcd 3.4.23).
 */
import { ServerError, GrpcStatus } from '../errors.js';

const spec = {
  rootUserNotExist: ['ERR_ROOT_USER_NOT_EXIST', GrpcStatus.FailedPrecondition, 'etcdserver: root user does not exist'],
  rootRoleNotExist: ['ERR_ROOT_ROLE_NOT_EXIST', GrpcStatus.FailedPrecondition, 'etcdserver: root user does not have root role'],
  userAlreadyExist: ['ERR_USER_ALREADY_EXIST', GrpcStatus.FailedPrecondition, 'etcdserver: user name already exists'],
  userEmpty: ['ERR_USER_EMPTY', GrpcStatus.InvalidArgument, 'etcdserver: user name is empty'],
  userNotFound: ['ERR_USER_NOT_FOUND', GrpcStatus.FailedPrecondition, 'etcdserver: user name not found'],
  roleAlreadyExist: ['ERR_ROLE_ALREADY_EXIST', GrpcStatus.FailedPrecondition, 'etcdserver: role name already exists'],
  roleNotFound: ['ERR_ROLE_NOT_FOUND', GrpcStatus.FailedPrecondition, 'etcdserver: role name not found'],
  roleEmpty: ['ERR_ROLE_EMPTY', GrpcStatus.InvalidArgument, 'etcdserver: role name is empty'],
  authFailed: ['ERR_AUTH_FAILED', GrpcStatus.InvalidArgument, 'etcdserver: authentication failed, invalid user ID or password'],
  permissionNotGiven: ['ERR_PERMISSION_NOT_GIVEN', GrpcStatus.InvalidArgument, 'etcdserver: permission not given'],
  permissionDenied: ['ERR_PERMISSION_DENIED', GrpcStatus.PermissionDenied, 'etcdserver: permission denied'],
  roleNotGranted: ['ERR_ROLE_NOT_GRANTED', GrpcStatus.FailedPrecondition, 'etcdserver: role is not granted to the user'],
  permissionNotGranted: ['ERR_PERMISSION_NOT_GRANTED', GrpcStatus.FailedPrecondition, 'etcdserver: permission is not granted to the role'],
  authNotEnabled: ['ERR_AUTH_NOT_ENABLED', GrpcStatus.FailedPrecondition, 'etcdserver: authentication is not enabled'],
  invalidAuthToken: ['ERR_INVALID_AUTH_TOKEN', GrpcStatus.Unauthenticated, 'etcdserver: invalid auth token'],
  invalidAuthMgmt: ['ERR_INVALID_AUTH_MGMT', GrpcStatus.InvalidArgument, 'etcdserver: invalid auth management'],
  authOldRevision: ['ERR_AUTH_OLD_REVISION', GrpcStatus.InvalidArgument, 'etcdserver: revision of auth store is old'],
} as const;

export type AuthErrorName = keyof typeof spec;

export function authError(name: AuthErrorName): ServerError {
  const [code, grpcCode, text] = spec[name];
  return new ServerError(code, grpcCode, text);
}

/** The same refusal as the Maintenance service of etcd 3.4 words it (code Unknown, "auth: " prefix). */
export function maintenanceAuthError(error: ServerError): ServerError {
  return new ServerError(error.code, GrpcStatus.Unknown, error.grpcMessage.replace(/^etcdserver: /, 'auth: '));
}

export function isServerError(error: unknown): error is ServerError {
  return error instanceof ServerError;
}
