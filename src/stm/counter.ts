/**
 * A shared integer in one key, changed only by compare-and-swap on the key's mod revision, so
 * concurrent increments are never lost (Curator's DistributedAtomicLong without the lock
 * fallback). The value is a decimal string, readable with `etcdctl get`. `values()` follows it
 * as an async iterable. An absent key counts as 0.
 */
import { InvalidOptionError, linkSignals, requireInteger, sleep, throwIfAborted } from '../base/index.js';
import { compare, WatchCompactedError } from '../client/index.js';
import type { Client, KeyValue } from '../client/index.js';
import { CounterValueError, StmConflictError } from './errors.js';

export interface CounterOptions {
  /** CAS attempts per change before StmConflictError. Default 256. */
  readonly maxAttempts?: number;
}

const integerPattern = /^-?\d{1,40}$/;

export class Counter {
  private readonly maxAttempts: number;

  constructor(readonly client: Client, readonly key: string, options: CounterOptions = {}) {
    if (typeof key !== 'string' || key.length === 0) throw new InvalidOptionError('key', 'must be a non-empty string');
    this.maxAttempts = requireInteger('maxAttempts', options.maxAttempts ?? 256, 1, 1_000_000);
  }

  /** The current value (linearizable read). */
  async get(options: { signal?: AbortSignal } = {}): Promise<bigint> {
    const builder = this.client.get(this.key);
    return this.parse((await (options.signal === undefined ? builder : builder.signal(options.signal))).kvs[0]);
  }

  /** Adds `delta` (may be negative) and resolves with the new value. */
  add(delta: bigint | number, options: { signal?: AbortSignal } = {}): Promise<bigint> {
    const step = typeof delta === 'bigint' ? delta : BigInt(requireInteger('delta', delta, Number.MIN_SAFE_INTEGER));
    return this.update((current) => current + step, options);
  }

  increment(options: { signal?: AbortSignal } = {}): Promise<bigint> {
    return this.add(1n, options);
  }

  decrement(options: { signal?: AbortSignal } = {}): Promise<bigint> {
    return this.add(-1n, options);
  }

  /** Sets the value to `next` only if it is `expected` now; resolves with whether it did. */
  async compareAndSet(expected: bigint, next: bigint, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    for (let attempt = 0; attempt < this.maxAttempts; attempt += 1) {
      const read = await this.read(options.signal);
      if (read.value !== expected) return false;
      if (await this.swap(read.kv, next, options.signal)) return true;
    }
    throw new StmConflictError(this.maxAttempts);
  }

  /**
   * Applies `fn` to the current value with CAS, retrying on conflict (with a short randomised
   * back-off after the first few losses so a crowd of writers spreads out).
   */
  async update(fn: (current: bigint) => bigint, options: { signal?: AbortSignal } = {}): Promise<bigint> {
    for (let attempt = 0; attempt < this.maxAttempts; attempt += 1) {
      const read = await this.read(options.signal);
      const next = fn(read.value);
      if (typeof next !== 'bigint') throw new InvalidOptionError('fn', 'must return a bigint');
      if (await this.swap(read.kv, next, options.signal)) return next;
      if (attempt >= 3) await sleep(this.client.clock, Math.floor(Math.random() * Math.min(50, 2 ** attempt)), options.signal);
    }
    throw new StmConflictError(this.maxAttempts);
  }

  /** The current value, then every change, until `signal` aborts. */
  async *values(options: { signal?: AbortSignal } = {}): AsyncGenerator<bigint> {
    const linked = linkSignals(options.signal, this.client.signal);
    try {
      let last: bigint | undefined;
      for (;;) {
        throwIfAborted(linked.signal);
        const current = await this.client.get(this.key).signal(linked.signal);
        const value = this.parse(current.kvs[0]);
        if (value !== last) yield (last = value);
        const watcher = this.client.watch(this.key, { startRevision: current.header.revision + 1n, signal: linked.signal });
        try {
          for await (const event of watcher) {
            const next = event.type === 'delete' ? 0n : this.parse(event.kv);
            if (next !== last) yield (last = next);
          }
        } catch (error) {
          // History compacted while we were away: read again.
          if (!(error instanceof WatchCompactedError)) throw error;
        } finally {
          watcher.close();
        }
      }
    } finally {
      linked.dispose();
    }
  }

  private async read(signal: AbortSignal | undefined): Promise<{ kv: KeyValue | undefined; value: bigint }> {
    const builder = this.client.get(this.key);
    const kv = (await (signal === undefined ? builder : builder.signal(signal))).kvs[0];
    return { kv, value: this.parse(kv) };
  }

  /** Writes `next` if the key is still as read; false when someone wrote in between. */
  private async swap(read: KeyValue | undefined, next: bigint, signal: AbortSignal | undefined): Promise<boolean> {
    const txn = this.client.txn().if(compare.modRevision(this.key, '==', read?.modRevision ?? 0n)).do(this.client.put(this.key, next.toString()));
    return (await (signal === undefined ? txn : txn.signal(signal))).succeeded;
  }

  private parse(kv: KeyValue | undefined): bigint {
    if (kv === undefined) return 0n;
    const text = kv.value.trim();
    if (!integerPattern.test(text)) throw new CounterValueError(this.key, kv.value);
    return BigInt(text);
  }
}
