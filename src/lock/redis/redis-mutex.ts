/**
 * A lock on one Redis server with the same held-lock shape as the Raft-backed Mutex: `token`
 * (a fencing token from a counter incremented in the acquire script), `key`, `signal`,
 * `unlock()` and async dispose. The holder extends its key's expiry automatically every third
 * of the TTL; its signal aborts when an extension finds the key gone or when the TTL passes
 * on the local clock without a confirmed extension. Waiters are woken by pub/sub.
 *
 * Limits (see docs/redis.md): one Redis server is a single point of truth: with asynchronous
 * replication a failover can lose a held lock, and a counter not yet persisted can hand out a
 * token again. Waiters are not queued fairly. Use the fencing token at the resource.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { InvalidOptionError, linkSignals, requireInteger, systemClock } from '../../base/index.js';
import type { Clock } from '../../base/index.js';
import { LockLostError, LockReleasedError, LockTimeoutError } from '../errors.js';
import { acquireScript, extendScript, releaseScript } from './scripts.js';
import { subscriberFor } from './subscriber.js';

export interface RedisMutexOptions {
  /** Expiry of the lock key; the holder extends it while held. Default 10000. */
  readonly ttlMs?: number;
  /** Interval between automatic extensions. Default a third of ttlMs. */
  readonly extendEveryMs?: number;
  /** Prefix of the lock, counter and channel names. Default `conclave:lock:`. */
  readonly keyPrefix?: string;
  readonly clock?: Clock;
}

export interface RedisLockOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

export class RedisMutex {
  readonly key: string;
  readonly counterKey: string;
  readonly channel: string;
  readonly ttlMs: number;
  private readonly extendEveryMs: number;
  private readonly clock: Clock;

  constructor(private readonly redis: Redis, readonly name: string, options: RedisMutexOptions = {}) {
    if (typeof name !== 'string' || name.length === 0) throw new InvalidOptionError('name', 'must be a non-empty string');
    this.ttlMs = requireInteger('ttlMs', options.ttlMs ?? 10_000, 10);
    this.extendEveryMs = requireInteger('extendEveryMs', options.extendEveryMs ?? Math.floor(this.ttlMs / 3), 1, this.ttlMs - 1);
    const prefix = options.keyPrefix ?? 'conclave:lock:';
    this.key = `${prefix}${name}`;
    this.counterKey = `${prefix}${name}:fence`;
    this.channel = `${prefix}${name}:released`;
    this.clock = options.clock ?? systemClock;
  }

  /** Takes the lock if it is free right now; null otherwise. */
  async tryLock(): Promise<RedisHeldLock | null> {
    const owner = newOwnerId();
    const attempt = await this.attempt(owner);
    return attempt.token === undefined ? null : attempt.held!;
  }

  /** Waits until the lock is held (woken by releases, or by the holder's expiry). */
  async lock(options: RedisLockOptions = {}): Promise<RedisHeldLock> {
    const timeout = options.timeoutMs === undefined ? undefined : requireInteger('timeoutMs', options.timeoutMs, 0);
    if (options.signal?.aborted) throw options.signal.reason;
    const startedAtMs = this.clock.nowMs();
    const owner = newOwnerId();
    // Fast path: a free lock costs one script call and no signal or subscription set-up.
    const first = await this.attempt(owner);
    if (first.held !== undefined) return first.held;
    return this.waitForLock(owner, options.signal, timeout === undefined ? undefined : Math.max(0, timeout - (this.clock.nowMs() - startedAtMs)), timeout ?? 0);
  }

  private async waitForLock(owner: string, callerSignal: AbortSignal | undefined, remainingMs: number | undefined, timeoutMs: number): Promise<RedisHeldLock> {
    const timer = new AbortController();
    const cancelTimer = remainingMs === undefined ? undefined : this.clock.setTimer(remainingMs, () => timer.abort(new LockTimeoutError(this.name, timeoutMs)));
    const linked = linkSignals(callerSignal, timer.signal);
    let woken = false;
    let wake: (() => void) | undefined;
    let unlisten: (() => Promise<void>) | undefined;
    try {
      if (linked.signal.aborted) throw linked.signal.reason;
      unlisten = await subscriberFor(this.redis).listen(this.channel, () => {
        woken = true;
        wake?.();
      });
      for (;;) {
        if (linked.signal.aborted) throw linked.signal.reason;
        woken = false;
        const attempt = await this.attempt(owner);
        if (attempt.held !== undefined) return attempt.held;
        // Sleep until a release is published or the current holder's key would expire.
        const waitMs = attempt.remainingMs > 0 ? attempt.remainingMs + 1 : this.ttlMs;
        if (!woken) await this.waitForWake(waitMs, linked.signal, (fn) => (wake = fn));
      }
    } finally {
      wake = undefined;
      cancelTimer?.();
      linked.dispose();
      await unlisten?.();
    }
  }

  private waitForWake(waitMs: number, signal: AbortSignal, setWake: (fn: () => void) => void): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) {
        resolve();
        return;
      }
      const done = (): void => {
        cancel();
        signal.removeEventListener('abort', done);
        resolve();
      };
      const cancel = this.clock.setTimer(waitMs, done);
      signal.addEventListener('abort', done, { once: true });
      setWake(done);
    });
  }

  private async attempt(owner: string): Promise<{ token?: bigint; held?: RedisHeldLock; remainingMs: number }> {
    const sentAtMs = this.clock.nowMs();
    const reply = (await this.redis.eval(acquireScript, 2, this.key, this.counterKey, owner, String(this.ttlMs))) as [number, number];
    if (reply[0] === 1) {
      const token = BigInt(reply[1]);
      const held = new RedisHeldLock(this.redis, this.key, this.channel, owner, token, this.ttlMs, this.extendEveryMs, this.clock, sentAtMs);
      return { token, held, remainingMs: 0 };
    }
    return { remainingMs: reply[1] };
  }
}

function newOwnerId(): string {
  return randomBytes(12).toString('hex');
}

export class RedisHeldLock implements AsyncDisposable {
  private readonly controller = new AbortController();
  private deadlineMs: number;
  private cancelDeadline: () => void = () => {};
  private cancelExtend: () => void = () => {};
  private releasing: Promise<void> | undefined;

  constructor(
    private readonly redis: Redis,
    /** The Redis key holding the lock. */
    readonly key: string,
    private readonly channel: string,
    /** This holder's random owner id (the key's value). */
    readonly owner: string,
    /** Fencing token: strictly increasing across holders as long as Redis keeps the counter. */
    readonly token: bigint,
    private readonly ttlMs: number,
    private readonly extendEveryMs: number,
    private readonly clock: Clock,
    acquiredSentAtMs: number,
  ) {
    this.deadlineMs = acquiredSentAtMs + ttlMs;
    this.armDeadline();
    this.scheduleExtend();
  }

  /** Aborts when the lock is lost (ERR_LOCK_LOST) or released (ERR_LOCK_RELEASED). */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get held(): boolean {
    return !this.controller.signal.aborted;
  }

  /** Extends the expiry now; resolves false (and aborts the signal) if the lock was lost. */
  async extend(): Promise<boolean> {
    if (!this.held) return false;
    const sentAtMs = this.clock.nowMs();
    const reply = (await this.redis.eval(extendScript, 1, this.key, this.owner, String(this.ttlMs))) as number;
    if (reply !== 1) {
      this.lose('its key expired or was taken over');
      return false;
    }
    if (this.held && sentAtMs + this.ttlMs > this.deadlineMs) {
      this.deadlineMs = sentAtMs + this.ttlMs;
      this.armDeadline();
    }
    return this.held;
  }

  /** Releases the lock if still ours and wakes waiters. Idempotent. */
  unlock(): Promise<void> {
    this.releasing ??= (async () => {
      const wasHeld = this.held;
      this.stop(new LockReleasedError(this.key));
      if (wasHeld) await this.redis.eval(releaseScript, 1, this.key, this.owner, this.channel);
    })();
    return this.releasing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.unlock();
  }

  private scheduleExtend(): void {
    this.cancelExtend = this.clock.setTimer(this.extendEveryMs, () => {
      if (!this.held) return;
      this.scheduleExtend();
      // A failed call (Redis unreachable) is retried at the next tick; the deadline decides.
      this.extend().catch(() => {});
    });
  }

  private armDeadline(): void {
    this.cancelDeadline();
    this.cancelDeadline = this.clock.setTimer(Math.max(0, this.deadlineMs - this.clock.nowMs()), () => {
      this.lose('its TTL passed without a confirmed extension');
    });
  }

  private lose(why: string): void {
    this.stop(new LockLostError(this.key, why));
  }

  private stop(reason: unknown): void {
    this.cancelDeadline();
    this.cancelExtend();
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }
}
