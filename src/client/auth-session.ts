/**
 * The client's login: exchanges `{ username, password }` for a token (one Authenticate in
 * flight at a time, shared by every call that needs it) and hands it to the transport, which
 * sends it as the `token` metadata. When a member answers "invalid auth token" (the token
 * expired, the member restarted, or a jwt/simple token is unknown there) or "revision of auth
 * store is old", the transport drops that token, logs in again and repeats the call once:
 * both refusals come before the call had any effect, so repeating even a write is safe.
 */
import { ConclaveError, InvalidOptionError } from '../base/index.js';
import { EtcdError } from './errors.js';

export interface AuthCredentials {
  readonly username: string;
  readonly password: string;
}

export function validateCredentials(auth: unknown): AuthCredentials {
  const a = auth as Partial<AuthCredentials> | null;
  if (typeof a !== 'object' || a === null) throw new InvalidOptionError('auth', 'must be { username, password }');
  if (typeof a.username !== 'string' || a.username === '') throw new InvalidOptionError('auth.username', 'must be a non-empty string');
  if (typeof a.password !== 'string') throw new InvalidOptionError('auth.password', 'must be a string');
  return { username: a.username, password: a.password };
}

/** The error codes after which a fresh token is fetched and the call repeated once. */
const REFRESH_CODES = new Set(['ERR_ETCD_INVALID_AUTH_TOKEN', 'ERR_ETCD_AUTH_OLD_REVISION']);

export function needsFreshToken(error: unknown): boolean {
  return error instanceof EtcdError && REFRESH_CODES.has(error.code);
}

export class AuthSession {
  private token: string | undefined;
  private pending: Promise<string> | undefined;

  constructor(
    readonly credentials: AuthCredentials,
    /** Calls Authenticate (without a token) and resolves with the token it answers. */
    private readonly login: (username: string, password: string, signal?: AbortSignal) => Promise<string>,
  ) {}

  /** The token held now, if any (streams opened synchronously use it). */
  get current(): string | undefined {
    return this.token;
  }

  /** The token to send, logging in first when none is held. */
  get(signal?: AbortSignal): Promise<string> {
    if (this.token !== undefined) return Promise.resolve(this.token);
    if (this.pending === undefined) {
      const attempt = this.login(this.credentials.username, this.credentials.password, signal).then(
        (token) => {
          if (token === '') throw new ConclaveError('ERR_AUTH_EMPTY_TOKEN', 'Authenticate answered without a token (is authentication enabled on the cluster?)');
          this.token = token;
          return token;
        },
      );
      this.pending = attempt;
      const clear = (): void => {
        if (this.pending === attempt) this.pending = undefined;
      };
      attempt.then(clear, clear);
    }
    return this.pending;
  }

  /** Drops the token held now and logs in again (a stream was refused with it). */
  async refresh(signal?: AbortSignal): Promise<void> {
    if (this.token !== undefined) this.invalidate(this.token);
    await this.get(signal);
  }

  /** Forgets `token` if it is still the one held (another call may have refreshed it already). */
  invalidate(token: string): void {
    if (this.token === token) this.token = undefined;
  }
}
