/**
 * `client.auth`: etcd's Auth API, typed. Names and permissions are plain strings and
 * `Key`s; a permission is `{ type: 'read' | 'write' | 'readwrite', key, rangeEnd? }` or
 * `{ type, prefix }` / `{ type, fromKey }` as etcdctl's --prefix and --from-key. Reads
 * (status, get, list) may be retried; changes are sent once (design rule 9).
 */
import { create } from '@bufbuild/protobuf';
import { Permission_Type } from '../gen/authpb/auth_pb.js';
import {
  Auth, AuthDisableRequestSchema, AuthEnableRequestSchema, AuthenticateRequestSchema, AuthRoleAddRequestSchema, AuthRoleDeleteRequestSchema,
  AuthRoleGetRequestSchema, AuthRoleGrantPermissionRequestSchema, AuthRoleListRequestSchema, AuthRoleRevokePermissionRequestSchema,
  AuthStatusRequestSchema, AuthUserAddRequestSchema, AuthUserChangePasswordRequestSchema, AuthUserDeleteRequestSchema,
  AuthUserGetRequestSchema, AuthUserGrantRoleRequestSchema, AuthUserListRequestSchema, AuthUserRevokeRoleRequestSchema,
} from '../gen/etcdserverpb/rpc_pb.js';
import { InvalidOptionError } from '../base/index.js';
import { FROM_KEY, prefixEnd, toBytes } from './keys.js';
import type { Key } from './keys.js';
import type { CallOptions, Transport } from './transport.js';

export type PermissionType = 'read' | 'write' | 'readwrite';

export type PermissionSpec =
  | { readonly type: PermissionType; readonly key: Key; readonly rangeEnd?: Key }
  | { readonly type: PermissionType; readonly prefix: Key }
  | { readonly type: PermissionType; readonly fromKey: Key };

/** A permission as the server holds it (rangeEnd empty: one key; [0]: from key on). */
export interface Permission {
  readonly type: PermissionType;
  readonly key: Uint8Array;
  readonly rangeEnd: Uint8Array;
}

export interface AuthStatus {
  readonly enabled: boolean;
  readonly authRevision: bigint;
}

const TYPES: Record<PermissionType, Permission_Type> = { read: Permission_Type.READ, write: Permission_Type.WRITE, readwrite: Permission_Type.READWRITE };
const NAMES: Record<number, PermissionType> = { [Permission_Type.READ]: 'read', [Permission_Type.WRITE]: 'write', [Permission_Type.READWRITE]: 'readwrite' };

function permissionRange(spec: PermissionSpec): { key: Uint8Array; rangeEnd: Uint8Array } {
  if (!(spec.type in TYPES)) throw new InvalidOptionError('permission.type', `must be read, write or readwrite, got ${JSON.stringify(spec.type)}`);
  if ('prefix' in spec) {
    const key = toBytes(spec.prefix);
    return { key, rangeEnd: key.length === 0 ? FROM_KEY : prefixEnd(key) };
  }
  if ('fromKey' in spec) return { key: toBytes(spec.fromKey), rangeEnd: FROM_KEY };
  return { key: toBytes(spec.key), rangeEnd: spec.rangeEnd === undefined ? new Uint8Array(0) : toBytes(spec.rangeEnd) };
}

export class AuthAdmin {
  constructor(private readonly transport: Transport) {}

  /** Exchanges a name and password for a token (the client does this itself with `auth` options). */
  async authenticate(username: string, password: string, options: CallOptions = {}): Promise<string> {
    const r = await this.transport.unary(Auth.method.authenticate, create(AuthenticateRequestSchema, { name: username, password }), false, options);
    return r.token;
  }

  async enable(options: CallOptions = {}): Promise<void> {
    await this.transport.unary(Auth.method.authEnable, create(AuthEnableRequestSchema, {}), false, options);
  }

  async disable(options: CallOptions = {}): Promise<void> {
    await this.transport.unary(Auth.method.authDisable, create(AuthDisableRequestSchema, {}), false, options);
  }

  /** etcd 3.5+ (etcd 3.4 answers Unimplemented). */
  async status(options: CallOptions = {}): Promise<AuthStatus> {
    const r = await this.transport.unary(Auth.method.authStatus, create(AuthStatusRequestSchema, {}), true, options);
    return { enabled: r.enabled, authRevision: r.authRevision };
  }

  /** Adds a user; `{ noPassword: true }` for one that signs in with a client certificate only. */
  async userAdd(name: string, password: string | { readonly noPassword: true }, options: CallOptions = {}): Promise<void> {
    const request = typeof password === 'string'
      ? create(AuthUserAddRequestSchema, { name, password })
      : create(AuthUserAddRequestSchema, { name, options: { noPassword: true } });
    await this.transport.unary(Auth.method.userAdd, request, false, options);
  }

  /** The user's roles, sorted. */
  async userGet(name: string, options: CallOptions = {}): Promise<string[]> {
    return (await this.transport.unary(Auth.method.userGet, create(AuthUserGetRequestSchema, { name }), true, options)).roles;
  }

  async userList(options: CallOptions = {}): Promise<string[]> {
    return (await this.transport.unary(Auth.method.userList, create(AuthUserListRequestSchema, {}), true, options)).users;
  }

  async userDelete(name: string, options: CallOptions = {}): Promise<void> {
    await this.transport.unary(Auth.method.userDelete, create(AuthUserDeleteRequestSchema, { name }), false, options);
  }

  async userChangePassword(name: string, password: string, options: CallOptions = {}): Promise<void> {
    await this.transport.unary(Auth.method.userChangePassword, create(AuthUserChangePasswordRequestSchema, { name, password }), false, options);
  }

  async userGrantRole(name: string, role: string, options: CallOptions = {}): Promise<void> {
    await this.transport.unary(Auth.method.userGrantRole, create(AuthUserGrantRoleRequestSchema, { user: name, role }), false, options);
  }

  async userRevokeRole(name: string, role: string, options: CallOptions = {}): Promise<void> {
    await this.transport.unary(Auth.method.userRevokeRole, create(AuthUserRevokeRoleRequestSchema, { name, role }), false, options);
  }

  async roleAdd(name: string, options: CallOptions = {}): Promise<void> {
    await this.transport.unary(Auth.method.roleAdd, create(AuthRoleAddRequestSchema, { name }), false, options);
  }

  async roleGet(name: string, options: CallOptions = {}): Promise<Permission[]> {
    const r = await this.transport.unary(Auth.method.roleGet, create(AuthRoleGetRequestSchema, { role: name }), true, options);
    return r.perm.map((p) => ({ type: NAMES[p.permType] ?? 'read', key: p.key, rangeEnd: p.rangeEnd }));
  }

  async roleList(options: CallOptions = {}): Promise<string[]> {
    return (await this.transport.unary(Auth.method.roleList, create(AuthRoleListRequestSchema, {}), true, options)).roles;
  }

  async roleDelete(name: string, options: CallOptions = {}): Promise<void> {
    await this.transport.unary(Auth.method.roleDelete, create(AuthRoleDeleteRequestSchema, { role: name }), false, options);
  }

  async roleGrantPermission(name: string, permission: PermissionSpec, options: CallOptions = {}): Promise<void> {
    const range = permissionRange(permission);
    const request = create(AuthRoleGrantPermissionRequestSchema, { name, perm: { permType: TYPES[permission.type], ...range } });
    await this.transport.unary(Auth.method.roleGrantPermission, request, false, options);
  }

  /** Revokes the permission on exactly this key/range (as granted; the type is not needed). */
  async roleRevokePermission(name: string, permission: Omit<PermissionSpec, 'type'> | PermissionSpec, options: CallOptions = {}): Promise<void> {
    const range = permissionRange({ type: 'read', ...permission } as PermissionSpec);
    await this.transport.unary(Auth.method.roleRevokePermission, create(AuthRoleRevokePermissionRequestSchema, { role: name, ...range }), false, options);
  }
}
