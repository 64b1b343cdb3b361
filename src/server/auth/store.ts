/**
 * The replicated auth store: users (bcrypt hashes, or none for --no-password users), roles
 * with key-range permissions, the enabled flag and the auth revision. It changes only by
 * applying raft entries (apply()), and the applier writes `encode()` to the backend's meta
 * bucket in the same atomic write as the entry's index, so it survives restarts on both
 * engines and travels in snapshots. Rules and error choices follow etcd 3.4's auth store;
 * the revision is bumped by every change that can alter a permission decision (as etcd's
 * commitRevision), so an in-flight write checked at an older revision is refused at apply.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { PermissionSchema, RoleSchema, UserSchema } from '../../gen/authpb/auth_pb.js';
import type { Permission } from '../../gen/authpb/auth_pb.js';
import { Permission_Type } from '../../gen/authpb/auth_pb.js';
import { AuthStateSchema } from '../../gen/conclave/internal_pb.js';
import type { AuthChange } from '../../gen/conclave/internal_pb.js';
import { authError } from './errors.js';
import { covers, grants, permissionInterval, type Access } from './permissions.js';

/** Key of the auth store in the backend's meta bucket. */
export const AUTH_STATE_KEY = 'auth';
export const ROOT_USER = 'root';
export const ROOT_ROLE = 'root';

export interface StoredUser {
  readonly name: string;
  /** bcrypt hash; empty for a --no-password user (certificate auth only). */
  readonly passwordHash: string;
  readonly noPassword: boolean;
  /** Sorted. */
  readonly roles: readonly string[];
}

export interface StoredRole {
  readonly name: string;
  /** Sorted by key, as etcd keeps them. */
  readonly permissions: readonly Permission[];
}

/** Who is asking: the user name and the auth revision the caller's token was checked at. */
export interface AuthInfo {
  readonly username: string;
  readonly revision: bigint;
}

/** What applying an auth change answers (the service builds the wire response from it). */
export type AuthApplyResult =
  | { readonly answer: 'done' }
  | { readonly answer: 'user'; readonly roles: readonly string[] }
  | { readonly answer: 'role'; readonly permissions: readonly Permission[] }
  | { readonly answer: 'names'; readonly names: readonly string[] }
  | { readonly answer: 'token'; readonly token: string };

/** Hooks the token provider attaches: tokens follow the users they belong to. */
export interface AuthStoreEvents {
  authenticated?(username: string, simpleToken: string): void;
  userInvalidated?(username: string): void;
  disabled?(): void;
}

const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

function insertSorted(list: readonly string[], value: string): string[] {
  return [...list, value].sort();
}

function comparePerm(a: Permission, b: Permission): number {
  return Buffer.compare(a.key, b.key) || Buffer.compare(a.rangeEnd, b.rangeEnd);
}

export class AuthStore {
  enabled = false;
  /** A fresh etcd auth store commits revision 1 when it is created. */
  revision = 1n;
  readonly users = new Map<string, StoredUser>();
  readonly roles = new Map<string, StoredRole>();
  events: AuthStoreEvents = {};

  static decode(bytes: Uint8Array | undefined): AuthStore {
    const store = new AuthStore();
    if (bytes !== undefined) store.load(bytes);
    return store;
  }

  /** Replaces the whole state (a snapshot was restored). */
  load(bytes: Uint8Array): void {
    const message = fromBinary(AuthStateSchema, bytes);
    this.enabled = message.enabled;
    this.revision = message.revision;
    this.users.clear();
    this.roles.clear();
    for (const u of message.users) {
      const name = textDecoder.decode(u.name);
      this.users.set(name, { name, passwordHash: textDecoder.decode(u.password), noPassword: u.options?.noPassword ?? false, roles: [...u.roles] });
    }
    for (const r of message.roles) {
      const name = textDecoder.decode(r.name);
      this.roles.set(name, { name, permissions: [...r.keyPermission] });
    }
  }

  encode(): Uint8Array {
    return toBinary(AuthStateSchema, create(AuthStateSchema, {
      enabled: this.enabled,
      revision: this.revision,
      users: [...this.users.values()].map((u) => create(UserSchema, { name: textEncoder.encode(u.name), password: textEncoder.encode(u.passwordHash), roles: [...u.roles], options: { noPassword: u.noPassword } })),
      roles: [...this.roles.values()].map((r) => create(RoleSchema, { name: textEncoder.encode(r.name), keyPermission: [...r.permissions] })),
    }));
  }

  hasRootRole(username: string): boolean {
    return this.users.get(username)?.roles.includes(ROOT_ROLE) ?? false;
  }

  /** etcd's IsAdminPermitted: with auth on, only a user holding the root role. */
  checkAdmin(info: AuthInfo | undefined): void {
    if (!this.enabled) return;
    if (info === undefined || info.username === '') throw authError('userEmpty');
    const user = this.users.get(info.username);
    if (user === undefined) throw authError('userNotFound');
    if (!user.roles.includes(ROOT_ROLE)) throw authError('permissionDenied');
  }

  /** etcd's isOpPermitted for [key, rangeEnd) (rangeEnd empty: the single key). */
  checkKeys(info: AuthInfo | undefined, key: Uint8Array, rangeEnd: Uint8Array, access: Access): void {
    if (!this.enabled) return;
    if (info === undefined || info.revision === 0n) throw authError('userEmpty');
    if (info.revision < this.revision) throw authError('authOldRevision');
    const user = this.users.get(info.username);
    if (user === undefined) throw authError('permissionDenied');
    if (user.roles.includes(ROOT_ROLE)) return;
    const intervals = [];
    for (const roleName of user.roles) {
      for (const perm of this.roles.get(roleName)?.permissions ?? []) if (grants(perm, access)) intervals.push(permissionInterval(perm));
    }
    if (!covers(intervals, key, rangeEnd)) throw authError('permissionDenied');
  }

  /**
   * Applies one change after the admin check. `info` is the proposer; `index` the entry's
   * log index (part of simple tokens, as etcd's). Throws etcd's error when refused.
   */
  apply(change: AuthChange['change'], info: AuthInfo | undefined, index: number): AuthApplyResult {
    switch (change.case) {
      case 'authenticate': {
        // Checked by the proposing member (the password never enters the log); a user may
        // have been deleted since.
        if (!this.enabled) throw authError('authNotEnabled');
        if (!this.users.has(change.value.name)) throw authError('authFailed');
        const token = `${change.value.simpleToken}.${index}`;
        if (change.value.simpleToken !== '') this.events.authenticated?.(change.value.name, token);
        return { answer: 'token', token };
      }
      case 'userGet': {
        const wanted = change.value.name;
        this.checkAdminUnless(info, info?.username === wanted);
        const user = this.users.get(wanted);
        if (user === undefined) throw authError('userNotFound');
        return { answer: 'user', roles: user.roles };
      }
      case 'roleGet': {
        const wanted = change.value.role;
        this.checkAdminUnless(info, info !== undefined && (this.users.get(info.username)?.roles.includes(wanted) ?? false));
        const role = this.roles.get(wanted);
        if (role === undefined) throw authError('roleNotFound');
        return { answer: 'role', permissions: role.permissions };
      }
      case undefined:
        return { answer: 'done' };
      default:
        this.checkAdmin(info);
        return this.applyAdmin(change);
    }
  }

  private checkAdminUnless(info: AuthInfo | undefined, allowed: boolean): void {
    try {
      this.checkAdmin(info);
    } catch (error) {
      if (!allowed) throw error;
    }
  }

  private applyAdmin(change: Exclude<AuthChange['change'], { case: 'authenticate' | 'userGet' | 'roleGet' | undefined }>): AuthApplyResult {
    switch (change.case) {
      case 'enable': {
        if (this.enabled) return { answer: 'done' };
        const root = this.users.get(ROOT_USER);
        if (root === undefined) throw authError('rootUserNotExist');
        if (!root.roles.includes(ROOT_ROLE)) throw authError('rootRoleNotExist');
        this.enabled = true;
        return { answer: 'done' };
      }
      case 'disable':
        if (!this.enabled) return { answer: 'done' };
        this.enabled = false;
        this.bump();
        this.events.disabled?.();
        return { answer: 'done' };
      case 'userAdd': {
        const { name, options, hashedPassword } = change.value;
        if (name === '') throw authError('userEmpty');
        if (this.users.has(name)) throw authError('userAlreadyExist');
        const noPassword = options?.noPassword ?? false;
        this.users.set(name, { name, passwordHash: noPassword ? '' : hashedPassword, noPassword, roles: [] });
        return this.bumped();
      }
      case 'userDelete': {
        const { name } = change.value;
        if (this.enabled && name === ROOT_USER) throw authError('invalidAuthMgmt');
        if (!this.users.delete(name)) throw authError('userNotFound');
        this.events.userInvalidated?.(name);
        return this.bumped();
      }
      case 'userChangePassword': {
        const { name, hashedPassword } = change.value;
        const user = this.users.get(name);
        if (user === undefined) throw authError('userNotFound');
        this.users.set(name, { ...user, passwordHash: hashedPassword, noPassword: false });
        this.events.userInvalidated?.(name);
        return this.bumped();
      }
      case 'userGrantRole': {
        const { user: name, role } = change.value;
        const user = this.users.get(name);
        if (user === undefined) throw authError('userNotFound');
        // The root role needs no record (etcd accepts granting it before it is added).
        if (role !== ROOT_ROLE && !this.roles.has(role)) throw authError('roleNotFound');
        if (user.roles.includes(role)) return { answer: 'done' };
        this.users.set(name, { ...user, roles: insertSorted(user.roles, role) });
        return this.bumped();
      }
      case 'userRevokeRole': {
        const { name, role } = change.value;
        if (this.enabled && name === ROOT_USER && role === ROOT_ROLE) throw authError('invalidAuthMgmt');
        const user = this.users.get(name);
        if (user === undefined) throw authError('userNotFound');
        if (!user.roles.includes(role)) throw authError('roleNotGranted');
        this.users.set(name, { ...user, roles: user.roles.filter((r) => r !== role) });
        return this.bumped();
      }
      case 'userList':
        return { answer: 'names', names: [...this.users.keys()].sort() };
      case 'roleList':
        return { answer: 'names', names: [...this.roles.keys()].sort() };
      case 'roleAdd': {
        const { name } = change.value;
        if (name === '') throw authError('roleEmpty');
        if (this.roles.has(name)) throw authError('roleAlreadyExist');
        this.roles.set(name, { name, permissions: [] });
        return this.bumped();
      }
      case 'roleDelete': {
        const { role } = change.value;
        if (this.enabled && role === ROOT_ROLE) throw authError('invalidAuthMgmt');
        if (!this.roles.delete(role)) throw authError('roleNotFound');
        for (const user of [...this.users.values()]) {
          if (user.roles.includes(role)) this.users.set(user.name, { ...user, roles: user.roles.filter((r) => r !== role) });
        }
        return this.bumped();
      }
      case 'roleGrantPermission': {
        const { name, perm } = change.value;
        const role = this.roles.get(name);
        if (role === undefined) throw authError('roleNotFound');
        if (perm === undefined) throw authError('permissionNotGiven');
        const granted = create(PermissionSchema, { permType: perm.permType ?? Permission_Type.READ, key: perm.key, rangeEnd: perm.rangeEnd });
        const others = role.permissions.filter((p) => comparePerm(p, granted) !== 0);
        this.roles.set(name, { name, permissions: [...others, granted].sort(comparePerm) });
        return this.bumped();
      }
      case 'roleRevokePermission': {
        const { role: name, key, rangeEnd } = change.value;
        const role = this.roles.get(name);
        if (role === undefined) throw authError('roleNotFound');
        const kept = role.permissions.filter((p) => Buffer.compare(p.key, key) !== 0 || Buffer.compare(p.rangeEnd, rangeEnd) !== 0);
        if (kept.length === role.permissions.length) throw authError('permissionNotGranted');
        this.roles.set(name, { name, permissions: kept });
        return this.bumped();
      }
    }
  }

  private bump(): void {
    this.revision += 1n;
  }

  private bumped(): AuthApplyResult {
    this.bump();
    return { answer: 'done' };
  }
}
