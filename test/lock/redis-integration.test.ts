// Method: RedisMutex against a real redis-server started for this file. Exclusion is checked
// by counting holders inside the critical section across several connections; token order by
// the order of acquisition; expiry by cutting a holder's connection so it can no longer
// extend: the next holder gets the lock after the key expires, with a larger token, and the
// old holder's token is then refused by a FencingGuard.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FencingGuard, RedisMutex, StaleTokenError } from '../../src/lock/redis/index.js';
import { missingBinaries } from '../support/binaries.js';
import { startRedis } from '../support/redis.js';
import type { RedisServer } from '../support/redis.js';
import { waitFor } from '../support/wait.js';

const skip = missingBinaries('redis-server');

describe.skipIf(skip !== undefined)('RedisMutex on redis-server', () => {
  let server: RedisServer;

  beforeAll(async () => {
    server = await startRedis();
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('excludes across connections and hands out tokens in acquisition order', async () => {
    const mutexes = [0, 1, 2, 3].map(() => new RedisMutex(server.connect(), 'it-1', { ttlMs: 5_000 }));
    let inside = 0;
    let maxInside = 0;
    const tokens: bigint[] = [];
    await Promise.all(mutexes.map(async (mutex) => {
      for (let round = 0; round < 5; round += 1) {
        const held = await mutex.lock();
        inside += 1;
        maxInside = Math.max(maxInside, inside);
        tokens.push(held.token);
        await new Promise((resolve) => setImmediate(resolve));
        inside -= 1;
        await held.unlock();
      }
    }));
    expect(maxInside).toBe(1);
    expect(tokens).toHaveLength(20);
    expect(tokens).toEqual([...tokens].sort((a, b) => (a < b ? -1 : 1)));
    expect(new Set(tokens).size).toBe(20);
  });

  it('a holder that cannot extend loses the lock at expiry; the next token is larger and the stale one is refused', async () => {
    const guard = new FencingGuard();
    const stalledConnection = server.connect();
    const stale = await new RedisMutex(stalledConnection, 'it-2', { ttlMs: 400 }).lock();
    guard.check('ledger', stale.token);
    stalledConnection.disconnect();
    const next = await new RedisMutex(server.connect(), 'it-2', { ttlMs: 5_000 }).lock({ timeoutMs: 10_000 });
    expect(next.token).toBeGreaterThan(stale.token);
    guard.check('ledger', next.token);
    await waitFor(() => expect(stale.held).toBe(false));
    expect(stale.signal.reason).toMatchObject({ code: 'ERR_LOCK_LOST' });
    expect(() => guard.check('ledger', stale.token)).toThrow(StaleTokenError);
    await next.unlock();
  });

  it('keeps a lock past its TTL by extending it', async () => {
    const redis = server.connect();
    const mutex = new RedisMutex(redis, 'it-3', { ttlMs: 300 });
    const held = await mutex.lock();
    // Wait until several extensions have happened (each resets the key's PTTL to about 300).
    const evals: number[] = [];
    await waitFor(async () => {
      evals.push(await redis.pttl(mutex.key));
      expect(evals.length).toBeGreaterThan(12);
    }, { timeout: 10_000, interval: 60 });
    expect(held.held).toBe(true);
    expect(await redis.get(mutex.key)).toBe(held.owner);
    expect(await mutex.tryLock()).toBeNull();
    await held.unlock();
  });
});
