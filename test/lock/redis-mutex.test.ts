// Method: unit tests of RedisMutex on ioredis-mock (an in-memory Redis with a Lua VM and
// pub/sub). Automatic extension and local-deadline loss are driven by an injected FakeClock;
// waiting is checked to end on the release published by the holder (the TTL is far longer
// than the test), never by polling.
import RedisMock from 'ioredis-mock';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeClock } from '../../src/base/index.js';
import { RedisMutex } from '../../src/lock/redis/index.js';
import { waitFor } from '../support/wait.js';

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('RedisMutex on ioredis-mock', () => {
  let redis: Redis;

  afterEach(async () => {
    await redis.flushall();
    redis.disconnect();
  });

  it('acquires with increasing fencing tokens and releases only its own key', async () => {
    redis = new RedisMock() as unknown as Redis;
    const mutex = new RedisMutex(redis, 'orders', { ttlMs: 10_000 });
    const first = await mutex.lock();
    expect(first.token).toBe(1n);
    expect(await redis.get(mutex.key)).toBe(first.owner);
    expect(await mutex.tryLock()).toBeNull();
    await first.unlock();
    expect(first.signal.reason).toMatchObject({ code: 'ERR_LOCK_RELEASED' });
    expect(await redis.get(mutex.key)).toBeNull();
    const second = await mutex.tryLock();
    expect(second?.token).toBe(2n);
    await first.unlock();
    expect(await redis.get(mutex.key)).toBe(second!.owner);
    await second!.unlock();
  });

  it('wakes a waiter through the published release', async () => {
    redis = new RedisMock() as unknown as Redis;
    const a = new RedisMutex(redis, 'jobs', { ttlMs: 60_000 });
    const b = new RedisMutex(redis.duplicate(), 'jobs', { ttlMs: 60_000 });
    const held = await a.lock();
    let acquired = false;
    const waiting = b.lock().then((h) => ((acquired = true), h));
    await flush();
    expect(acquired).toBe(false);
    await held.unlock();
    const next = await waiting;
    expect(next.token).toBe(held.token + 1n);
    await next.unlock();
  });

  it('times out and aborts waiting with the caller\'s signal', async () => {
    redis = new RedisMock() as unknown as Redis;
    const mutex = new RedisMutex(redis, 'busy', { ttlMs: 60_000 });
    const held = await mutex.lock();
    await expect(mutex.lock({ timeoutMs: 30 })).rejects.toMatchObject({ code: 'ERR_LOCK_TIMEOUT' });
    const controller = new AbortController();
    const waiting = mutex.lock({ signal: controller.signal });
    controller.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
    await held.unlock();
  });

  it('extends the key while held and aborts the signal when an extension finds it gone', async () => {
    redis = new RedisMock() as unknown as Redis;
    const clock = new FakeClock();
    const mutex = new RedisMutex(redis, 'ext', { ttlMs: 9_000, clock });
    const held = await mutex.lock();
    const evalSpy = vi.spyOn(redis, 'eval');
    clock.advance(3_000);
    await flush();
    expect(evalSpy).toHaveBeenCalledTimes(1);
    clock.advance(5_000);
    await flush();
    expect(held.held).toBe(true);
    await redis.del(mutex.key);
    clock.advance(3_000);
    await flush();
    await waitFor(() => expect(held.held).toBe(false));
    expect(held.signal.reason).toMatchObject({ code: 'ERR_LOCK_LOST' });
  });

  it('aborts the signal when the TTL passes on the local clock without a confirmed extension', async () => {
    redis = new RedisMock() as unknown as Redis;
    const clock = new FakeClock();
    const held = await new RedisMutex(redis, 'silent', { ttlMs: 9_000, clock }).lock();
    vi.spyOn(redis, 'eval').mockRejectedValue(new Error('connection lost'));
    clock.advance(8_999);
    await flush();
    expect(held.held).toBe(true);
    clock.advance(1);
    expect(held.held).toBe(false);
    expect(held.signal.reason).toMatchObject({ code: 'ERR_LOCK_LOST', message: expect.stringContaining('TTL passed') });
  });

  it('validates its options', () => {
    redis = new RedisMock() as unknown as Redis;
    expect(() => new RedisMutex(redis, '')).toThrow(/non-empty/);
    expect(() => new RedisMutex(redis, 'x', { ttlMs: 5 })).toThrow(expect.objectContaining({ option: 'ttlMs' }));
    expect(() => new RedisMutex(redis, 'x', { ttlMs: 100, extendEveryMs: 100 })).toThrow(expect.objectContaining({ option: 'extendEveryMs' }));
  });
});
