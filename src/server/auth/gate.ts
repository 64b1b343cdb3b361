/**
 * The member's auth gate: the replicated store plus this member's token provider. The gRPC
 * guard resolves the caller once per call (the `token` metadata, or the client certificate's
 * CN with --client-cert-auth) and hands that CallIdentity (caller.ts) to the handler, which
 * passes it to the checks here and to every proposal it makes, so the entry is stamped with
 * the caller's name and auth revision. The applier re-checks writes against the store at
 * the entry's index.
 */
import type { CallIdentity } from './caller.js';
import type { AuthInfo, AuthStore } from './store.js';
import type { TokenProvider } from './tokens.js';
import { authError } from './errors.js';
import { ServerError } from '../errors.js';

/** Go's names of the gRPC codes auth refusals use (as in a grpc status error's text). */
const GRPC_CODE_NAMES: Record<number, string> = { 3: 'InvalidArgument', 7: 'PermissionDenied', 9: 'FailedPrecondition', 16: 'Unauthenticated' };
import type { Access } from './permissions.js';

export class AuthGate {
  constructor(
    readonly store: AuthStore,
    readonly tokens: TokenProvider,
    readonly clientCertAuth: boolean = false,
  ) {
    store.events = {
      authenticated: (username, token) => tokens.assignSimple(username, token),
      userInvalidated: (username) => tokens.invalidateUser(username),
      disabled: () => tokens.clear(),
    };
  }

  get enabled(): boolean {
    return this.store.enabled;
  }

  /**
   * etcd's AuthInfoFromCtx: a token (even with auth off, an unknown one is refused), else the
   * certificate's CN when client-cert auth is on, else nobody. Throws "invalid auth token".
   */
  async resolve(token: string | undefined, commonName: string | undefined): Promise<AuthInfo | undefined> {
    if (token !== undefined) {
      const info = this.store.enabled ? await this.tokens.info(token, this.store.revision) : undefined;
      if (info === undefined) throw authError('invalidAuthToken');
      return info;
    }
    if (this.clientCertAuth && commonName !== undefined && commonName !== '' && this.store.enabled) {
      return { username: commonName, revision: this.store.revision };
    }
    return undefined;
  }

  /** A read of [key, rangeEnd) by `caller` (throws etcd's error). */
  checkRead(caller: CallIdentity | undefined, key: Uint8Array, rangeEnd: Uint8Array): void {
    if (!this.store.enabled) return;
    this.store.checkKeys(caller?.info, key, rangeEnd, 'read');
  }

  /** `caller` has the root role (throws etcd's error). */
  checkAdmin(caller: CallIdentity | undefined): void {
    this.store.checkAdmin(caller?.info);
  }

  /**
   * Why `identity` may not watch [key, rangeEnd), or undefined if it may (etcd re-reads the
   * stream's token at each create, and words the refusal as a gRPC status text).
   */
  async watchRefusal(identity: CallIdentity | undefined, key: Uint8Array, rangeEnd: Uint8Array): Promise<string | undefined> {
    try {
      const info = await this.resolve(identity?.token, identity?.commonName);
      if (!this.store.enabled) return undefined;
      this.store.checkKeys(info ?? { username: '', revision: 0n }, key, rangeEnd, 'read');
      return undefined;
    } catch (error) {
      if (!(error instanceof ServerError)) throw error;
      return `rpc error: code = ${GRPC_CODE_NAMES[error.grpcCode] ?? 'Unknown'} desc = ${error.grpcMessage}`;
    }
  }

  check(info: AuthInfo | undefined, key: Uint8Array, rangeEnd: Uint8Array, access: Access): void {
    this.store.checkKeys(info, key, rangeEnd, access);
  }
}
