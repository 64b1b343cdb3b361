import { ConclaveError } from '../base/errors.js';
import { deferred } from '../base/deferred.js';
import type { Deferred } from '../base/deferred.js';

/** The registry is full: too many proposals are waiting to be applied. */
export class TooManyPendingError extends ConclaveError {
  constructor(limit: number) {
    super('ERR_TOO_MANY_PENDING', `too many requests waiting to be applied (limit ${limit})`, { retryable: true });
    this.name = 'TooManyPendingError';
  }
}

/**
 * The proposal wait registry (design rule 3): a caller registers its request id, proposes,
 * and awaits; the applier triggers the id with the result when the entry is applied on this
 * member. Every exit path removes the entry: trigger, cancel (abort, timeout, leadership
 * loss) and close. Bounded: register() throws TooManyPendingError beyond `capacity`.
 */
export class WaitRegistry<T> {
  private readonly pending = new Map<bigint, Deferred<T>>();

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.pending.size;
  }

  register(id: bigint): Promise<T> {
    if (this.pending.has(id)) throw new Error(`request id ${id} is already waiting`);
    if (this.pending.size >= this.capacity) throw new TooManyPendingError(this.capacity);
    const waiter = deferred<T>();
    this.pending.set(id, waiter);
    return waiter.promise;
  }

  has(id: bigint): boolean {
    return this.pending.has(id);
  }

  /** Resolves the waiter of `id`, if any (an entry proposed by another member has none). */
  trigger(id: bigint, value: T): void {
    const waiter = this.pending.get(id);
    if (waiter === undefined) return;
    this.pending.delete(id);
    waiter.resolve(value);
  }

  cancel(id: bigint, reason: unknown): void {
    const waiter = this.pending.get(id);
    if (waiter === undefined) return;
    this.pending.delete(id);
    waiter.reject(reason);
  }

  cancelAll(reason: unknown): void {
    const waiters = [...this.pending.values()];
    this.pending.clear();
    for (const waiter of waiters) waiter.reject(reason);
  }
}
