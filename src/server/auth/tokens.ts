/**
 * Auth tokens, as etcd's two providers: `simple` tokens are random strings the proposing
 * member draws and every member records when it applies the Authenticate entry (so, as on
 * etcd 3.4, a token works on any member until it expires; they live in memory, so a restart
 * forgets them and clients re-authenticate). Each use slides its TTL (`--auth-token-ttl`,
 * default 300 s). `jwt` tokens are signed with the member's key (jose) and carry the user
 * name and the auth revision they were issued at; any member holding the public key accepts
 * them, and any later auth change makes them "old" (etcd's ErrAuthOldRevision).
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { importPKCS8, importSPKI, jwtVerify, SignJWT } from 'jose';
import type { Clock } from '../../base/clock.js';
import { InvalidOptionError } from '../../base/errors.js';
import type { AuthInfo } from './store.js';

export const DEFAULT_AUTH_TOKEN_TTL_SECONDS = 300;
/** Most simple tokens held at once; the oldest is dropped beyond it. */
export const MAX_SIMPLE_TOKENS = 100_000;

export interface TokenProvider {
  readonly kind: 'simple' | 'jwt';
  /** The random part of a simple token to put into the Authenticate entry ('' for jwt). */
  newSimpleTokenPrefix(): string;
  /** Records a simple token applied from the log. */
  assignSimple(username: string, token: string): void;
  /** The token to answer Authenticate with, given what applying produced. */
  issue(username: string, appliedToken: string, revision: bigint): Promise<string>;
  /** Who holds `token`, or undefined if it is unknown, expired or forged. */
  info(token: string, currentRevision: bigint): AuthInfo | undefined | Promise<AuthInfo | undefined>;
  invalidateUser(username: string): void;
  clear(): void;
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

export class SimpleTokens implements TokenProvider {
  readonly kind = 'simple';
  /** token -> holder and expiry (ms on the member's clock); insertion order is age order. */
  private readonly tokens = new Map<string, { username: string; expiresAtMs: number }>();

  constructor(private readonly clock: Clock, private readonly ttlSeconds: number = DEFAULT_AUTH_TOKEN_TTL_SECONDS) {}

  newSimpleTokenPrefix(): string {
    const bytes = randomBytes(16);
    let prefix = '';
    for (const b of bytes) prefix += LETTERS[b % LETTERS.length];
    return prefix;
  }

  assignSimple(username: string, token: string): void {
    if (this.tokens.size >= MAX_SIMPLE_TOKENS) this.tokens.delete(this.tokens.keys().next().value!);
    this.tokens.set(token, { username, expiresAtMs: this.clock.nowMs() + this.ttlSeconds * 1000 });
  }

  issue(_username: string, appliedToken: string): Promise<string> {
    return Promise.resolve(appliedToken);
  }

  info(token: string, currentRevision: bigint): AuthInfo | undefined {
    const entry = this.tokens.get(token);
    if (entry === undefined) return undefined;
    const now = this.clock.nowMs();
    if (now >= entry.expiresAtMs) {
      this.tokens.delete(token);
      return undefined;
    }
    entry.expiresAtMs = now + this.ttlSeconds * 1000;
    // A simple token stands for its user at the store's current revision (as etcd's).
    return { username: entry.username, revision: currentRevision };
  }

  invalidateUser(username: string): void {
    for (const [token, entry] of this.tokens) if (entry.username === username) this.tokens.delete(token);
  }

  clear(): void {
    this.tokens.clear();
  }
}

export interface JwtOptions {
  readonly publicKeyPem: string;
  readonly privateKeyPem?: string;
  readonly signMethod: string;
  readonly ttlSeconds: number;
}

type JwtKey = Awaited<ReturnType<typeof importSPKI>>;

const SUPPORTED_SIGN_METHODS = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512']);

export class JwtTokens implements TokenProvider {
  readonly kind = 'jwt';

  private constructor(
    private readonly clock: Clock,
    private readonly signMethod: string,
    private readonly ttlSeconds: number,
    private readonly publicKey: JwtKey,
    private readonly privateKey: JwtKey | undefined,
  ) {}

  static async create(clock: Clock, options: JwtOptions): Promise<JwtTokens> {
    if (!SUPPORTED_SIGN_METHODS.has(options.signMethod)) throw new InvalidOptionError('authToken', `unsupported jwt sign-method ${JSON.stringify(options.signMethod)}`);
    const publicKey = await importSPKI(options.publicKeyPem, options.signMethod);
    const privateKey = options.privateKeyPem === undefined ? undefined : await importPKCS8(options.privateKeyPem, options.signMethod);
    return new JwtTokens(clock, options.signMethod, options.ttlSeconds, publicKey, privateKey);
  }

  newSimpleTokenPrefix(): string {
    return '';
  }

  assignSimple(): void {}

  async issue(username: string, _appliedToken: string, revision: bigint): Promise<string> {
    if (this.privateKey === undefined) throw new InvalidOptionError('authToken', 'this member has no jwt priv-key: it verifies tokens but cannot issue them');
    const nowSeconds = Math.floor(this.clock.nowMs() / 1000);
    return new SignJWT({ username, revision: Number(revision) })
      .setProtectedHeader({ alg: this.signMethod })
      .setExpirationTime(nowSeconds + this.ttlSeconds)
      .sign(this.privateKey);
  }

  async info(token: string): Promise<AuthInfo | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.publicKey, { algorithms: [this.signMethod], currentDate: new Date(this.clock.nowMs()) });
      if (typeof payload.username !== 'string' || typeof payload.revision !== 'number') return undefined;
      return { username: payload.username, revision: BigInt(payload.revision) };
    } catch {
      return undefined;
    }
  }

  invalidateUser(): void {}

  clear(): void {}
}

/** Parses etcd's `--auth-token` value: `simple` or `jwt,pub-key=PATH,priv-key=PATH,sign-method=ALG[,ttl=DURATION]`. */
export async function tokenProviderFromSpec(spec: string, clock: Clock, ttlSeconds: number): Promise<TokenProvider> {
  const [kind, ...rest] = spec.split(',');
  if (kind === 'simple' && rest.length === 0) return new SimpleTokens(clock, ttlSeconds);
  if (kind !== 'jwt') throw new InvalidOptionError('authToken', `expected "simple" or "jwt,pub-key=...,priv-key=...,sign-method=...", got ${JSON.stringify(spec)}`);
  const fields = new Map<string, string>();
  for (const part of rest) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new InvalidOptionError('authToken', `malformed jwt option ${JSON.stringify(part)}`);
    fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  for (const key of fields.keys()) if (!['pub-key', 'priv-key', 'sign-method', 'ttl'].includes(key)) throw new InvalidOptionError('authToken', `unknown jwt option ${JSON.stringify(key)}`);
  const pub = fields.get('pub-key');
  if (pub === undefined) throw new InvalidOptionError('authToken', 'jwt needs pub-key=PATH');
  const signMethod = fields.get('sign-method') ?? 'RS256';
  // Checked before the key files are read, so a bad spec says what is wrong with it.
  if (!SUPPORTED_SIGN_METHODS.has(signMethod)) throw new InvalidOptionError('authToken', `unsupported jwt sign-method ${JSON.stringify(signMethod)}`);
  const priv = fields.get('priv-key');
  const ttl = fields.get('ttl');
  const jwtTtlSeconds = ttl === undefined ? ttlSeconds : parseDurationSeconds(ttl);
  return JwtTokens.create(clock, {
    publicKeyPem: await readFile(pub, 'utf8'),
    ...(priv === undefined ? {} : { privateKeyPem: await readFile(priv, 'utf8') }),
    signMethod,
    ttlSeconds: jwtTtlSeconds,
  });
}

function parseDurationSeconds(text: string): number {
  const match = /^(\d+)(s|m|h)$/.exec(text);
  if (match === null) throw new InvalidOptionError('authToken', `jwt ttl must look like 300s, 5m or 1h, got ${JSON.stringify(text)}`);
  return Number(match[1]) * (match[2] === 'h' ? 3600 : match[2] === 'm' ? 60 : 1);
}
