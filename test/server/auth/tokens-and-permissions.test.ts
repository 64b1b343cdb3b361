// Unit checks of the auth pieces on a fake clock: simple tokens slide their TTL on use and
// lapse without it; jwt tokens (RS256, jose) verify on a member holding only the public key,
// carry the revision they were issued at, and expire; permission coverage of keys, ranges,
// prefixes and from-key grants (unions of grants included).
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/base/clock.js';
import { PermissionSchema, Permission_Type } from '../../../src/gen/authpb/auth_pb.js';
import { covers, permissionInterval } from '../../../src/server/auth/permissions.js';
import { SimpleTokens, tokenProviderFromSpec } from '../../../src/server/auth/tokens.js';

const b = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('simple tokens', () => {
  it('slide their TTL on every use and lapse after TTL seconds without one', () => {
    const clock = new FakeClock(0);
    const tokens = new SimpleTokens(clock, 10);
    tokens.assignSimple('alice', 'abc.5');
    clock.advance(9_000);
    expect(tokens.info('abc.5', 3n)).toEqual({ username: 'alice', revision: 3n });
    clock.advance(9_000);
    expect(tokens.info('abc.5', 3n)?.username).toBe('alice');
    clock.advance(10_000);
    expect(tokens.info('abc.5', 3n)).toBeUndefined();
    expect(tokens.info('never.1', 3n)).toBeUndefined();
  });

  it('are dropped with their user and when auth is disabled', () => {
    const tokens = new SimpleTokens(new FakeClock(0), 300);
    tokens.assignSimple('alice', 'a.1');
    tokens.assignSimple('bob', 'b.2');
    tokens.invalidateUser('alice');
    expect(tokens.info('a.1', 1n)).toBeUndefined();
    expect(tokens.info('b.2', 1n)?.username).toBe('bob');
    tokens.clear();
    expect(tokens.info('b.2', 1n)).toBeUndefined();
  });
});

describe('jwt tokens', () => {
  it('verify with the public key alone, carry their revision, expire, and refuse forgeries', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conclave-jwt-'));
    try {
      const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      writeFileSync(join(dir, 'pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
      writeFileSync(join(dir, 'priv.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
      const clock = new FakeClock(1_700_000_000_000);
      const issuer = await tokenProviderFromSpec(`jwt,pub-key=${join(dir, 'pub.pem')},priv-key=${join(dir, 'priv.pem')},sign-method=RS256,ttl=5m`, clock, 300);
      const verifier = await tokenProviderFromSpec(`jwt,pub-key=${join(dir, 'pub.pem')},sign-method=RS256`, clock, 300);
      const token = await issuer.issue('alice', '', 7n);
      expect(await verifier.info(token, 9n)).toEqual({ username: 'alice', revision: 7n });
      expect(await verifier.info(`${token.slice(0, -4)}AAAA`, 9n)).toBeUndefined();
      clock.advance(301_000);
      expect(await verifier.info(token, 9n)).toBeUndefined();
      await expect(verifier.issue('alice', '', 1n)).rejects.toThrow(/no jwt priv-key/);
      await expect(tokenProviderFromSpec('jwt,pub-key=x,sign-method=none', clock, 300)).rejects.toThrow(/unsupported jwt sign-method/);
      await expect(tokenProviderFromSpec('opaque', clock, 300)).rejects.toThrow(/expected "simple" or "jwt/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('permission coverage', () => {
  const perm = (key: string, rangeEnd: string | Uint8Array = ''): ReturnType<typeof permissionInterval> =>
    permissionInterval(create(PermissionSchema, { permType: Permission_Type.READ, key: b(key), rangeEnd: typeof rangeEnd === 'string' ? b(rangeEnd) : rangeEnd }));

  it('a single-key grant covers that key only', () => {
    expect(covers([perm('k')], b('k'), new Uint8Array(0))).toBe(true);
    expect(covers([perm('k')], b('k0'), new Uint8Array(0))).toBe(false);
    expect(covers([perm('k')], b('k'), b('l'))).toBe(false);
  });

  it('a prefix grant covers ranges inside it, not past it; from-key covers to the end', () => {
    expect(covers([perm('p/', 'p0')], b('p/a'), b('p/z'))).toBe(true);
    expect(covers([perm('p/', 'p0')], b('p/'), b('p1'))).toBe(false);
    expect(covers([perm('p/', 'p0')], b('p/'), new Uint8Array([0]))).toBe(false);
    expect(covers([perm('f', new Uint8Array([0]))], b('g'), new Uint8Array([0]))).toBe(true);
    expect(covers([perm('f', new Uint8Array([0]))], b('e'), new Uint8Array(0))).toBe(false);
  });

  it('adjacent grants cover a range together; a gap between them does not', () => {
    expect(covers([perm('b', 'c'), perm('a', 'b')], b('a'), b('c'))).toBe(true);
    expect(covers([perm('a', 'b'), perm('b0', 'c')], b('a'), b('c'))).toBe(false);
  });
});
