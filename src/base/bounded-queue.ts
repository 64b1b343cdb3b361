import { ConclaveError } from './errors.js';

/** Thrown by `BoundedQueue.push` when the queue is full and its policy is 'reject'. */
export class QueueFullError extends ConclaveError {
  constructor(what: string, capacity: number) {
    super('ERR_QUEUE_FULL', `${what} is full (capacity ${capacity})`, { retryable: true });
    this.name = 'QueueFullError';
  }
}

/**
 * A FIFO with a fixed capacity and a stated behaviour when full: 'reject' throws
 * QueueFullError, 'drop-oldest' discards the head. A ring buffer, so push and shift are O(1).
 */
export class BoundedQueue<T> {
  private readonly items: Array<T | undefined>;
  private head = 0;
  private count = 0;

  constructor(
    readonly capacity: number,
    private readonly whenFull: 'reject' | 'drop-oldest' = 'reject',
    private readonly what = 'queue',
  ) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.items = new Array<T | undefined>(capacity);
  }

  get length(): number {
    return this.count;
  }

  /** Adds `item`; returns the dropped item under 'drop-oldest' when full. */
  push(item: T): T | undefined {
    let dropped: T | undefined;
    if (this.count === this.capacity) {
      if (this.whenFull === 'reject') throw new QueueFullError(this.what, this.capacity);
      dropped = this.shift();
    }
    this.items[(this.head + this.count) % this.capacity] = item;
    this.count += 1;
    return dropped;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.count -= 1;
    return item;
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head];
  }

  /** Removes and returns everything, oldest first. */
  drain(): T[] {
    const out: T[] = [];
    while (this.count > 0) out.push(this.shift() as T);
    return out;
  }
}
