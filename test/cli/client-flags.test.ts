// --user / --password (etcdctl's forms) become the SDK's auth option; malformed combinations
// are usage errors. The login itself is covered against real servers in test/client/auth.test.ts.
import { describe, expect, it } from 'vitest';
import { credentialsFromFlags } from '../../src/cli/client-flags.js';

describe('--user and --password', () => {
  it('splits name:password at the first colon, as etcdctl does', () => {
    expect(credentialsFromFlags({ user: 'alice:s3:cret' })).toEqual({ username: 'alice', password: 's3:cret' });
  });

  it('takes the password from --password when --user has no colon', () => {
    expect(credentialsFromFlags({ user: 'alice', password: 'pw' })).toEqual({ username: 'alice', password: 'pw' });
  });

  it('means no login without --user', () => {
    expect(credentialsFromFlags({})).toBeUndefined();
  });

  it('refuses a missing password, a missing name, both password forms, and --password alone', () => {
    expect(() => credentialsFromFlags({ user: 'alice' })).toThrow(/needs a password/);
    expect(() => credentialsFromFlags({ user: ':pw' })).toThrow(/needs a user name/);
    expect(() => credentialsFromFlags({ user: 'alice:pw', password: 'pw' })).toThrow(/not both/);
    expect(() => credentialsFromFlags({ password: 'pw' })).toThrow(/goes with --user/);
  });
});
