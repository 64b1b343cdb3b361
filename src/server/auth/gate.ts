/**
 * The member's auth gate: the replicated store plus this member's token provider, and the
 * caller's identity for the call being served. The gRPC guard resolves the caller once per
 * call (the `token` metadata, or the client certificate's CN with --client-cert-auth) and
 * runs the handler inside `runAs`, so a proposal made anywhere under that handler (KV
 * writes, lock and election recipes, auth changes) is stamped with the caller's name and auth
 * revision without threading them through every service (AsyncLocalStorage carries it
 * across awaits). The applier re-checks writes against the store at the entry's index.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { AuthInfo, AuthStore } from './store.js';
import type { TokenProvider } from './tokens.js';
import { authError } from './errors.js';
import { ServerError } from '../errors.js';

/** Go's names of the gRPC codes auth refusals use (as in a grpc status error's text). */
const GRPC_CODE_NAMES: Record<number, string> = { 3: 'InvalidArgument', 7: 'PermissionDenied', 9: 'FailedPrecondition', 16: 'Unauthenticated' };
import type { Access } from './permissions.js';

/** The identity of the call being served. */
export interface CallIdentity {
  readonly info: AuthInfo | undefined;
  /** The raw token, re-resolved when a long-lived stream opens something later (watch create). */
  readonly token: string | undefined;
  readonly commonName: string | undefined;
}

export class AuthGate {
  private readonly calls = new AsyncLocalStorage<CallIdentity>();

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

  runAs<T>(identity: CallIdentity, fn: () => T): T {
    return this.calls.run(identity, fn);
  }

  /** The identity of the call being served, if the guard set one. */
  current(): CallIdentity | undefined {
    return this.calls.getStore();
  }

  /** Header fields for a proposal made now. */
  proposer(): { username: string; authRevision: bigint; internal: boolean } {
    const identity = this.calls.getStore();
    // No identity: the member's own proposal (lease expiry, checkpoints, attributes, alarms).
    if (identity === undefined) return { username: '', authRevision: 0n, internal: true };
    const info = identity.info;
    return info === undefined ? { username: '', authRevision: 0n, internal: false } : { username: info.username, authRevision: info.revision, internal: false };
  }

  /** A read of [key, rangeEnd) by the current caller (throws etcd's error). */
  checkRead(key: Uint8Array, rangeEnd: Uint8Array): void {
    if (!this.store.enabled) return;
    this.store.checkKeys(this.calls.getStore()?.info, key, rangeEnd, 'read');
  }

  checkAdmin(): void {
    this.store.checkAdmin(this.calls.getStore()?.info);
  }

  /**
   * Why the current caller may not watch [key, rangeEnd), or undefined if it may (etcd
   * re-reads the stream's token at each create, and words the refusal as a gRPC status text).
   */
  async watchRefusal(key: Uint8Array, rangeEnd: Uint8Array): Promise<string | undefined> {
    const identity = this.calls.getStore();
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
