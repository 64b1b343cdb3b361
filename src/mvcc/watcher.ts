import { throwIfAborted } from '../base/abort.js';
import { type Deferred, deferred } from '../base/deferred.js';
import type { ByteString } from '../storage/backend/bytes.js';
import { intervalContains, type KeyInterval } from './key-range.js';
import type { MvccEvent } from './types.js';
import type { WatchableStore } from './watchable-store.js';
import type { WatcherState, WatchOptions, WatchResponse } from './watch-types.js';

/**
 * One watcher. Delivery is a pull API: `pull()` returns the next response or undefined
 * when nothing is ready; `next(signal)` waits for one; the watcher is also an async
 * iterable of responses. A synced watcher's buffer holds at most the store's
 * `maxBufferedEvents` events (a single revision larger than that is still accepted into an
 * empty buffer, so it can be delivered at all); a commit that does not fit makes the
 * watcher a victim instead of waiting. Responses come strictly in revision order, each
 * revision's events in one response (or in consecutive fragments).
 */
export class Watcher implements AsyncIterable<WatchResponse> {
  /** @internal Group; see WatchableStore. */
  state: WatcherState = 'unsynced';
  /** @internal Unsynced/victim: the first revision not yet delivered or buffered. */
  nextRevision = 0;
  /** @internal Synced: events of earlier revisions are ignored (start revisions in the future). */
  minRevision = 0;
  private readonly queue: WatchResponse[] = [];
  private bufferedEvents = 0;
  private eventsSinceProgress = false;
  private waiter: Deferred<void> | undefined;

  /** @internal Created by WatchableStore.watch. */
  constructor(
    private readonly owner: WatchableStore,
    readonly id: number,
    /** @internal */ readonly interval: KeyInterval,
    readonly options: WatchOptions,
  ) {}

  /** True while the watcher is in the synced group (etcd answers a progress request only then). */
  get isSynced(): boolean {
    return this.state === 'synced';
  }

  /** @internal */
  matches(key: ByteString): boolean {
    return intervalContains(this.interval, key);
  }

  /** @internal */
  setState(state: WatcherState): void {
    this.state = state;
  }

  /** The next ready response, reading history if the watcher is behind; undefined if none is ready. */
  pull(): WatchResponse | undefined {
    for (;;) {
      const head = this.queue.shift();
      if (head !== undefined) {
        this.bufferedEvents -= head.events.length;
        return head;
      }
      if (this.state === 'victim') this.state = 'unsynced';
      if (this.state !== 'unsynced') return undefined;
      this.catchUp();
    }
  }

  /** Waits for the next response; undefined once the watcher has ended (cancelled). */
  async next(signal?: AbortSignal): Promise<WatchResponse | undefined> {
    for (;;) {
      throwIfAborted(signal);
      const response = this.pull();
      if (response !== undefined) return response;
      if (this.state === 'canceled') return undefined;
      await this.readable(signal);
    }
  }

  async *responses(signal?: AbortSignal): AsyncIterableIterator<WatchResponse> {
    for (;;) {
      const response = await this.next(signal);
      if (response === undefined) return;
      yield response;
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchResponse> {
    return this.responses();
  }

  /** Stops the watcher: it leaves every group, its buffer is dropped and waiters end. */
  cancel(): void {
    if (this.state === 'canceled' && this.queue.length === 0) return;
    this.queue.length = 0;
    this.bufferedEvents = 0;
    this.state = 'canceled';
    this.owner.forget(this);
    this.wake();
  }

  /** @internal The watcher needs compacted history: its last response is the cancel. */
  cancelCompacted(compactRevision: number): void {
    this.owner.forget(this);
    this.state = 'canceled';
    this.enqueue({ watcherId: this.id, revision: 0, events: [], canceled: true, compactRevision });
  }

  /** @internal A commit's events for this synced watcher. */
  deliverSynced(revision: number, events: readonly MvccEvent[]): void {
    if (revision < this.minRevision) return;
    const filtered = this.filter(events);
    if (filtered.length === 0) return;
    if (this.queue.length > 0 && this.bufferedEvents + filtered.length > this.owner.maxBufferedEvents) {
      this.owner.removeSynced(this);
      this.state = 'victim';
      this.nextRevision = revision;
      return;
    }
    this.enqueue({ watcherId: this.id, revision, events: filtered });
  }

  /** @internal After a store reload: read history again from `revision` on. */
  resumeFrom(revision: number): void {
    if (this.state === 'canceled') return;
    this.state = 'unsynced';
    this.nextRevision = revision;
    this.wake();
  }

  /** @internal The progress_notify tick. */
  progressTick(): void {
    if (this.eventsSinceProgress) {
      this.eventsSinceProgress = false;
      return;
    }
    if (this.state === 'synced' && this.queue.length === 0) {
      this.enqueue({ watcherId: this.id, revision: this.owner.store.currentRevision, events: [], progress: true });
    }
  }

  /** Reads the next batch of history, or joins the synced group when there is none left. */
  private catchUp(): void {
    const store = this.owner.store;
    if (this.nextRevision < store.compactRevision) {
      this.cancelCompacted(store.compactRevision);
      return;
    }
    const current = store.currentRevision;
    if (this.nextRevision <= current) {
      const { events, nextRev } = store.readEvents(this.nextRevision, current, this.owner.maxEventsPerBatch, this.options.prevKv === true, (key) => this.matches(key));
      this.nextRevision = nextRev;
      const filtered = this.filter(events);
      if (filtered.length > 0) this.enqueue({ watcherId: this.id, revision: current, events: filtered });
    }
    if (this.nextRevision > current) {
      this.minRevision = this.nextRevision;
      this.owner.addSynced(this);
    }
  }

  private filter(events: readonly MvccEvent[]): MvccEvent[] {
    const { noPut, noDelete, prevKv } = this.options;
    const out: MvccEvent[] = [];
    for (const event of events) {
      if ((event.type === 'put' && noPut) || (event.type === 'delete' && noDelete)) continue;
      out.push(!prevKv && event.prevKv !== undefined ? { type: event.type, kv: event.kv } : event);
    }
    return out;
  }

  private enqueue(response: WatchResponse): void {
    if (response.events.length > 0) this.eventsSinceProgress = true;
    for (const part of this.fragments(response)) this.queue.push(part);
    this.bufferedEvents += response.events.length;
    this.wake();
  }

  /** Splits a response above maxResponseBytes into fragments (only if the watcher allowed it). */
  private fragments(response: WatchResponse): WatchResponse[] {
    const limit = this.owner.maxResponseBytes;
    if (!this.options.fragment || response.events.length < 2 || responseBytes(response.events) <= limit) return [response];
    const parts: WatchResponse[] = [];
    let current: MvccEvent[] = [];
    let bytes = 0;
    for (const event of response.events) {
      const size = eventBytes(event);
      if (current.length > 0 && bytes + size > limit) {
        parts.push({ ...response, events: current, fragment: true });
        current = [];
        bytes = 0;
      }
      current.push(event);
      bytes += size;
    }
    parts.push({ ...response, events: current });
    return parts;
  }

  private readable(signal?: AbortSignal): Promise<void> {
    this.waiter ??= deferred<void>();
    const wait = this.waiter.promise;
    if (signal === undefined) return wait;
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      void wait.then(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve();
  }
}

/** Estimated encoded size of an event: its bytes plus a fixed allowance for the numbers and framing. */
export function eventBytes(event: MvccEvent): number {
  const kvBytes = (kv: { key: Uint8Array; value: Uint8Array } | undefined): number => (kv === undefined ? 0 : kv.key.length + kv.value.length + 48);
  return kvBytes(event.kv) + kvBytes(event.prevKv) + 8;
}

function responseBytes(events: readonly MvccEvent[]): number {
  let total = 0;
  for (const event of events) total += eventBytes(event);
  return total;
}
