// Method: pure unit tests of the resource-side FencingGuard, plus a property check with
// fast-check that, for any sequence of tokens, exactly the tokens >= the running maximum are
// accepted.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FencingGuard, StaleTokenError } from '../../src/lock/index.js';

describe('FencingGuard', () => {
  it('accepts increasing and repeated tokens and rejects older ones with a typed error', async () => {
    const guard = new FencingGuard();
    guard.check('orders', 5n);
    guard.check('orders', 5n);
    guard.check('orders', 9n);
    expect(() => guard.check('orders', 7n)).toThrow(StaleTokenError);
    try {
      guard.check('orders', 7n);
    } catch (error) {
      expect(error).toMatchObject({ code: 'ERR_STALE_FENCING_TOKEN', resource: 'orders', token: 7n, highest: 9n });
    }
    guard.check('invoices', 1n);
    expect(guard.highestToken('orders')).toBe(9n);
    expect(guard.accept('orders', 8n)).toBe(false);
    expect(await guard.guard('orders', 10n, () => 'written')).toBe('written');
    await expect(guard.guard('orders', 9n, () => 'late')).rejects.toBeInstanceOf(StaleTokenError);
  });

  it('refuses invalid tokens and new resources past its bound', () => {
    const guard = new FencingGuard({ maxResources: 2 });
    expect(() => guard.check('a', 0n)).toThrow(/positive bigint/);
    guard.check('a', 1n);
    guard.check('b', 1n);
    expect(() => guard.check('c', 1n)).toThrow(expect.objectContaining({ code: 'ERR_FENCING_GUARD_FULL' }));
    guard.check('a', 2n);
  });

  it('accepts exactly the tokens at or above the running maximum', () => {
    fc.assert(fc.property(fc.array(fc.bigInt({ min: 1n, max: 50n }), { maxLength: 60 }), (tokens) => {
      const guard = new FencingGuard();
      let max = 0n;
      for (const token of tokens) {
        const expected = token >= max;
        expect(guard.accept('r', token)).toBe(expected);
        if (expected) max = token;
      }
    }));
  });
});
