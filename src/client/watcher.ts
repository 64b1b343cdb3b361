/**
 * The user-facing watcher: an async iterable of events with a bounded buffer. The hub
 * (watch-hub.ts) feeds it; when the buffer reaches its capacity the watcher is parked (its
 * server-side watch is cancelled) and resumed from the next undelivered revision once the
 * consumer has drained half of it, so a slow consumer costs memory up to about its capacity
 * (plus at most one server response) and never stalls other watchers on the shared stream.
 */
import { deferred } from '../base/index.js';
import { subscribeAbort, unsubscribeAbort } from './abort-fanout.js';
import type { Deferred } from '../base/index.js';
import type { KeyValue } from './results.js';

export interface WatchEvent {
  readonly type: 'put' | 'delete';
  /** For a delete, the key and the deletion revision (as `modRevision`) only. */
  readonly kv: KeyValue;
  /** The key before this change, when the watch asked for `prevKv`. */
  readonly prevKv: KeyValue | undefined;
  /** The revision of this change (`kv.modRevision`). */
  readonly revision: bigint;
}

/** What the hub needs from a watcher. */
export interface WatchTarget {
  readonly key: Uint8Array;
  readonly rangeEnd: Uint8Array;
  readonly prevKv: boolean;
  readonly noPut: boolean;
  readonly noDelete: boolean;
  /** The next revision to ask the server for; 0n until known ("from now"). */
  nextRevision: bigint;
  /** Set by the hub while the watch is established on the current stream. */
  watchId: bigint | undefined;
  parked: boolean;
  readonly closed: boolean;
  deliver(events: WatchEvent[]): void;
  created(revision: bigint): void;
  fail(error: unknown): void;
}

export interface WatcherHooks {
  park(watcher: Watcher): void;
  unpark(watcher: Watcher): void;
  remove(watcher: Watcher): void;
}

export class Watcher implements AsyncIterableIterator<WatchEvent>, AsyncDisposable, WatchTarget {
  nextRevision: bigint;
  watchId: bigint | undefined;
  parked = false;
  /** How many times this watcher was parked because its consumer fell behind. */
  parks = 0;
  private buffer: WatchEvent[] = [];
  private wake: Deferred<void> | undefined;
  private error: unknown;
  private isClosed = false;
  private readonly createdDeferred = deferred<bigint>();
  private readonly detachSignal: () => void;

  constructor(
    readonly key: Uint8Array,
    readonly rangeEnd: Uint8Array,
    readonly prevKv: boolean,
    readonly noPut: boolean,
    readonly noDelete: boolean,
    startRevision: bigint,
    private readonly capacity: number,
    private readonly hooks: WatcherHooks,
    signal: AbortSignal | undefined,
  ) {
    this.nextRevision = startRevision;
    this.createdDeferred.promise.catch(() => {});
    // Many watchers may share one signal (every waiter of a lock holder, say): one listener.
    const subscriber = { handleEvent: () => this.fail(signal!.reason) };
    if (signal !== undefined && !signal.aborted) subscribeAbort(signal, subscriber);
    this.detachSignal = () => {
      if (signal !== undefined) unsubscribeAbort(signal, subscriber);
    };
    if (signal?.aborted) subscriber.handleEvent();
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Resolves with the store revision at which the watch was first established (events after
   * it are delivered); rejects if the watch fails before that.
   */
  ready(): Promise<bigint> {
    return this.createdDeferred.promise;
  }

  /** Events buffered and not yet consumed. */
  get buffered(): number {
    return this.buffer.length;
  }

  deliver(events: WatchEvent[]): void {
    if (this.isClosed || events.length === 0) return;
    for (const event of events) this.buffer.push(event);
    this.nextRevision = events[events.length - 1]!.revision + 1n;
    if (this.buffer.length >= this.capacity && !this.parked) {
      this.parks += 1;
      this.hooks.park(this);
    }
    this.signalWaiter();
  }

  created(revision: bigint): void {
    if (this.nextRevision === 0n) this.nextRevision = revision + 1n;
    this.createdDeferred.resolve(revision);
  }

  /** Ends the watcher with `error` after the buffered events have been consumed. */
  fail(error: unknown): void {
    if (this.isClosed) return;
    this.error = error;
    this.finish();
    this.createdDeferred.reject(error);
  }

  /** Stops watching; buffered events are dropped and iteration ends. */
  close(): void {
    if (this.isClosed) return;
    this.buffer = [];
    this.finish();
    this.createdDeferred.reject(new Error('watcher closed before it was established'));
  }

  private finish(): void {
    this.isClosed = true;
    this.detachSignal();
    this.hooks.remove(this);
    this.signalWaiter();
  }

  private signalWaiter(): void {
    const waiter = this.wake;
    this.wake = undefined;
    waiter?.resolve();
  }

  async next(): Promise<IteratorResult<WatchEvent>> {
    for (;;) {
      const event = this.buffer.shift();
      if (event !== undefined) {
        if (this.parked && !this.isClosed && this.buffer.length <= this.capacity / 2) this.hooks.unpark(this);
        return { value: event, done: false };
      }
      if (this.isClosed) {
        if (this.error !== undefined) {
          const error = this.error;
          this.error = undefined;
          throw error;
        }
        return { value: undefined, done: true };
      }
      this.wake ??= deferred<void>();
      await this.wake.promise;
    }
  }

  /**
   * Waits for at least one event, then returns every event buffered so far (so a txn's events
   * arrive together); undefined once the watcher has ended. Throws like `next()`.
   */
  async nextBatch(): Promise<WatchEvent[] | undefined> {
    const first = await this.next();
    if (first.done === true) return undefined;
    const batch = [first.value];
    while (this.buffer.length > 0) batch.push(this.buffer.shift()!);
    if (this.parked && !this.isClosed) this.hooks.unpark(this);
    return batch;
  }

  async return(): Promise<IteratorResult<WatchEvent>> {
    this.close();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<WatchEvent> {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}
