/**
 * RedisMutex: the same held-lock shape on a single Redis server (read docs/redis.md for its
 * limits). Two holders in turn; tokens come from a counter incremented by the acquire script.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/redis-mutex.ts
 * In your project: import { RedisMutex } from 'conclave/redis'.
 */
import { Redis } from 'ioredis';
import { RedisMutex } from '../src/lock/redis/index.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
try {
  const mutex = new RedisMutex(redis, 'examples:orders', { ttlMs: 5_000 });
  const tokens: bigint[] = [];
  for (const worker of ['w1', 'w2']) {
    await using lock = await mutex.lock({ timeoutMs: 5_000 });
    tokens.push(lock.token);
    console.log(`${worker} holds ${lock.key} with token ${lock.token}`);
  }
  console.log(`tokens increase: ${tokens[1]! > tokens[0]!}`);
} finally {
  redis.disconnect();
}
