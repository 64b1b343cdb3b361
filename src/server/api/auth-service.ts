/**
 * The Auth service. Every change and every admin read goes through raft (as in etcd, where
 * the applier answers them), stamped with the caller's identity by the guard, and is
 * checked and applied by the replicated auth store (src/server/auth). Passwords are hashed
 * with bcrypt on the member that receives the request, so no password enters the log;
 * Authenticate checks the password here too and proposes only the user name and the random
 * part of a simple token. A port without auth (in-memory test ports) answers as etcd does
 * with auth off and an empty store.
 */
import { create } from '@bufbuild/protobuf';
import type { DescMessage, MessageShape } from '@bufbuild/protobuf';
import bcrypt from 'bcryptjs';
import {
  Auth, AuthDisableResponseSchema, AuthEnableResponseSchema, AuthenticateResponseSchema, AuthRoleAddResponseSchema,
  AuthRoleDeleteResponseSchema, AuthRoleGetResponseSchema, AuthRoleGrantPermissionResponseSchema, AuthRoleListResponseSchema,
  AuthRoleRevokePermissionResponseSchema, AuthStatusResponseSchema, AuthUserAddResponseSchema, AuthUserChangePasswordResponseSchema,
  AuthUserDeleteResponseSchema, AuthUserGetResponseSchema, AuthUserGrantRoleResponseSchema, AuthUserListResponseSchema,
  AuthUserRevokeRoleResponseSchema,
} from '../../gen/etcdserverpb/rpc_pb.js';
import type * as pb from '../../gen/etcdserverpb/rpc_pb.js';
import type { AuthChange } from '../../gen/conclave/internal_pb.js';
import { authError } from '../auth/errors.js';
import type { AuthGate } from '../auth/gate.js';
import type { AuthApplyResult } from '../auth/store.js';
import { responseHeader } from './header.js';
import type { ServerPort } from './ports.js';
import { propose } from './proposal.js';
import { bindService, type ServiceBinding } from './service-definition.js';
import { unary, type CallContext } from './unary.js';

export interface AuthServiceOptions {
  readonly maxRequestBytes: number;
  /** bcrypt cost of new password hashes (etcd: 10). */
  readonly bcryptCost?: number;
}

type Change = NonNullable<AuthChange['change']>;

export function authService(port: ServerPort, options: AuthServiceOptions): ServiceBinding {
  const cost = options.bcryptCost ?? 10;
  const gate = (): AuthGate => {
    if (port.auth === undefined) throw authError('authNotEnabled');
    return port.auth;
  };
  const proposeChange = async (change: Change, { signal, caller }: CallContext): Promise<AuthApplyResult> =>
    (await propose(port, { case: 'auth', value: { change } as never }, { maxRequestBytes: options.maxRequestBytes, signal, caller })) as AuthApplyResult;
  /** An RPC whose whole effect is the applied change; `shape` builds the response fields from the result. */
  const change = <I, S extends DescMessage>(schema: S, toChange: (req: I) => Change | Promise<Change>, shape: (result: AuthApplyResult) => Partial<MessageShape<S>> = () => ({})) =>
    unary<I, MessageShape<S>>(async (req, context) => {
      gate();
      const result = await proposeChange(await toChange(req), context);
      return create(schema, { ...shape(result), header: responseHeader(port) } as never) as MessageShape<S>;
    });
  const hash = (password: string): Promise<string> => bcrypt.hash(password, cost);

  return bindService(Auth, {
    authEnable: change<pb.AuthEnableRequest, typeof AuthEnableResponseSchema>(AuthEnableResponseSchema, (value) => ({ case: 'enable', value })),
    authDisable: change<pb.AuthDisableRequest, typeof AuthDisableResponseSchema>(AuthDisableResponseSchema, (value) => ({ case: 'disable', value })),
    authStatus: unary<pb.AuthStatusRequest, pb.AuthStatusResponse>(() => {
      const store = port.auth?.store;
      return Promise.resolve(create(AuthStatusResponseSchema, { header: responseHeader(port), enabled: store?.enabled ?? false, authRevision: store?.revision ?? 1n }));
    }),
    authenticate: unary<pb.AuthenticateRequest, pb.AuthenticateResponse>(async (req, context) => {
      const auth = gate();
      if (!auth.store.enabled) throw authError('authNotEnabled');
      const user = auth.store.users.get(req.name);
      // A --no-password user signs in with its certificate only.
      if (user === undefined || user.noPassword || !(await bcrypt.compare(req.password, user.passwordHash))) throw authError('authFailed');
      const result = await proposeChange({ case: 'authenticate', value: { name: req.name, simpleToken: auth.tokens.newSimpleTokenPrefix() } as never }, context);
      if (result.answer !== 'token') throw new Error('authenticate answered without a token');
      const token = await auth.tokens.issue(req.name, result.token, auth.store.revision);
      return create(AuthenticateResponseSchema, { header: responseHeader(port), token });
    }),
    userAdd: change<pb.AuthUserAddRequest, typeof AuthUserAddResponseSchema>(AuthUserAddResponseSchema, async (req) => {
      const noPassword = req.options?.noPassword ?? false;
      // Refuse an empty name before spending a bcrypt hash on it.
      const hashedPassword = noPassword || req.name === '' ? '' : req.hashedPassword !== '' ? req.hashedPassword : await hash(req.password);
      return { case: 'userAdd', value: { name: req.name, password: '', options: req.options, hashedPassword } as never };
    }),
    userGet: change<pb.AuthUserGetRequest, typeof AuthUserGetResponseSchema>(AuthUserGetResponseSchema, (value) => ({ case: 'userGet', value }), (r) => ({ roles: r.answer === 'user' ? [...r.roles] : [] })),
    userList: change<pb.AuthUserListRequest, typeof AuthUserListResponseSchema>(AuthUserListResponseSchema, (value) => ({ case: 'userList', value }), (r) => ({ users: r.answer === 'names' ? [...r.names] : [] })),
    userDelete: change<pb.AuthUserDeleteRequest, typeof AuthUserDeleteResponseSchema>(AuthUserDeleteResponseSchema, (value) => ({ case: 'userDelete', value })),
    userChangePassword: change<pb.AuthUserChangePasswordRequest, typeof AuthUserChangePasswordResponseSchema>(AuthUserChangePasswordResponseSchema, async (req) => {
      const hashedPassword = req.hashedPassword !== '' ? req.hashedPassword : await hash(req.password);
      return { case: 'userChangePassword', value: { name: req.name, password: '', hashedPassword } as never };
    }),
    userGrantRole: change<pb.AuthUserGrantRoleRequest, typeof AuthUserGrantRoleResponseSchema>(AuthUserGrantRoleResponseSchema, (value) => ({ case: 'userGrantRole', value })),
    userRevokeRole: change<pb.AuthUserRevokeRoleRequest, typeof AuthUserRevokeRoleResponseSchema>(AuthUserRevokeRoleResponseSchema, (value) => ({ case: 'userRevokeRole', value })),
    roleAdd: change<pb.AuthRoleAddRequest, typeof AuthRoleAddResponseSchema>(AuthRoleAddResponseSchema, (value) => ({ case: 'roleAdd', value })),
    roleGet: change<pb.AuthRoleGetRequest, typeof AuthRoleGetResponseSchema>(AuthRoleGetResponseSchema, (value) => ({ case: 'roleGet', value }), (r) => ({ perm: r.answer === 'role' ? [...r.permissions] : [] })),
    roleList: change<pb.AuthRoleListRequest, typeof AuthRoleListResponseSchema>(AuthRoleListResponseSchema, (value) => ({ case: 'roleList', value }), (r) => ({ roles: r.answer === 'names' ? [...r.names] : [] })),
    roleDelete: change<pb.AuthRoleDeleteRequest, typeof AuthRoleDeleteResponseSchema>(AuthRoleDeleteResponseSchema, (value) => ({ case: 'roleDelete', value })),
    roleGrantPermission: change<pb.AuthRoleGrantPermissionRequest, typeof AuthRoleGrantPermissionResponseSchema>(AuthRoleGrantPermissionResponseSchema, (value) => ({ case: 'roleGrantPermission', value })),
    roleRevokePermission: change<pb.AuthRoleRevokePermissionRequest, typeof AuthRoleRevokePermissionResponseSchema>(AuthRoleRevokePermissionResponseSchema, (value) => ({ case: 'roleRevokePermission', value })),
  });
}
