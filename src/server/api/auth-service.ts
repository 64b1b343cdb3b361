/**
 * The Auth service while authentication is disabled, answering as etcd does with auth off
 * and an empty auth store: AuthStatus says disabled, Authenticate and AuthEnable refuse with
 * etcd's texts (no root user can exist yet), AuthDisable is a no-op, listings are empty and
 * lookups of users or roles find nothing. Creating users or roles needs the replicated auth
 * store that comes with full auth; until then UserAdd and RoleAdd answer Unimplemented
 * (after etcd's own empty-name checks) instead of pretending to store anything.
 */
import { create } from '@bufbuild/protobuf';
import type { DescMessage, MessageShape } from '@bufbuild/protobuf';
import { status } from '@grpc/grpc-js';
import {
  Auth, AuthDisableResponseSchema, AuthRoleListResponseSchema, AuthStatusResponseSchema, AuthUserListResponseSchema,
} from '../../gen/etcdserverpb/rpc_pb.js';
import type * as pb from '../../gen/etcdserverpb/rpc_pb.js';
import { serverError, ServerError } from '../errors.js';
import { responseHeader } from './header.js';
import type { ServerPort } from './ports.js';
import { bindService, type ServiceBinding } from './service-definition.js';
import { unary } from './unary.js';

/** etcd's auth errors this layer answers with (rpctypes texts, verbatim). */
export const authErrors = {
  rootUserNotExist: () => new ServerError('ERR_ROOT_USER_NOT_EXIST', status.FAILED_PRECONDITION, 'etcdserver: root user does not exist'),
  userEmpty: () => new ServerError('ERR_USER_EMPTY', status.INVALID_ARGUMENT, 'etcdserver: user name is empty'),
  userNotFound: () => new ServerError('ERR_USER_NOT_FOUND', status.FAILED_PRECONDITION, 'etcdserver: user name not found'),
  roleEmpty: () => new ServerError('ERR_ROLE_EMPTY', status.INVALID_ARGUMENT, 'etcdserver: role name is empty'),
  roleNotFound: () => new ServerError('ERR_ROLE_NOT_FOUND', status.FAILED_PRECONDITION, 'etcdserver: role name not found'),
  authStoreUnsupported: () =>
    new ServerError('ERR_AUTH_STORE_UNSUPPORTED', status.UNIMPLEMENTED, 'conclave: users and roles are not supported yet (authentication is not implemented)'),
};

/** A fresh etcd auth store commits revision 1 when it is created. */
const AUTH_REVISION = 1n;

function failing<I>(error: () => Error): ReturnType<typeof unary<I, never>> {
  return unary<I, never>(() => Promise.reject(error()));
}

function answering<I, O extends DescMessage>(port: ServerPort, schema: O, fields: Partial<MessageShape<O>> = {}): ReturnType<typeof unary<I, MessageShape<O>>> {
  return unary<I, MessageShape<O>>(() => Promise.resolve(create(schema, { ...fields, header: responseHeader(port) } as never) as MessageShape<O>));
}

export function authService(port: ServerPort): ServiceBinding {
  return bindService(Auth, {
    authEnable: failing<pb.AuthEnableRequest>(authErrors.rootUserNotExist),
    authDisable: answering<pb.AuthDisableRequest, typeof AuthDisableResponseSchema>(port, AuthDisableResponseSchema),
    authStatus: answering<pb.AuthStatusRequest, typeof AuthStatusResponseSchema>(port, AuthStatusResponseSchema, { enabled: false, authRevision: AUTH_REVISION }),
    authenticate: failing<pb.AuthenticateRequest>(() => serverError('authNotEnabled')),
    userAdd: unary<pb.AuthUserAddRequest, never>((req) => Promise.reject(req.name === '' ? authErrors.userEmpty() : authErrors.authStoreUnsupported())),
    userGet: failing<pb.AuthUserGetRequest>(authErrors.userNotFound),
    userList: answering<pb.AuthUserListRequest, typeof AuthUserListResponseSchema>(port, AuthUserListResponseSchema, { users: [] }),
    userDelete: failing<pb.AuthUserDeleteRequest>(authErrors.userNotFound),
    userChangePassword: failing<pb.AuthUserChangePasswordRequest>(authErrors.userNotFound),
    userGrantRole: failing<pb.AuthUserGrantRoleRequest>(authErrors.userNotFound),
    userRevokeRole: failing<pb.AuthUserRevokeRoleRequest>(authErrors.userNotFound),
    roleAdd: unary<pb.AuthRoleAddRequest, never>((req) => Promise.reject(req.name === '' ? authErrors.roleEmpty() : authErrors.authStoreUnsupported())),
    roleGet: failing<pb.AuthRoleGetRequest>(authErrors.roleNotFound),
    roleList: answering<pb.AuthRoleListRequest, typeof AuthRoleListResponseSchema>(port, AuthRoleListResponseSchema, { roles: [] }),
    roleDelete: failing<pb.AuthRoleDeleteRequest>(authErrors.roleNotFound),
    roleGrantPermission: failing<pb.AuthRoleGrantPermissionRequest>(authErrors.roleNotFound),
    roleRevokePermission: failing<pb.AuthRoleRevokePermissionRequest>(authErrors.roleNotFound),
  });
}
