import { throwIfAborted } from '../base/abort.js';
import { type Deferred, deferred } from '../base/deferred.js';
import type { ByteString } from '../storage/backend/bytes.js';
import { intervalContains, type KeyInterval } from './key-range.js';
import type { MvccEvent } from './types.js';
import type { WatchableStore } from './watchable-store.js';
import type { WatcherState, WatchOptions, WatchResponse } from './watch-types.js';

/**
 * Consecutive queued responses of one watcher taken together (`pullMerged`): each segment is
 * one revision's events, in revision order, and is the very array the store shares between
 * every synced watcher with the same filter key, so an encoder can cache its bytes by it.
 * A fragment, progress or cancel response is never merged with another (it is alone).
 */
export interface MergedWatchResponse {
  readonly watcherId: number;
  /** The revision of the last merged response (what a client resumes after). */
  readonly revision: number;
  readonly segments: readonly (readonly MvccEvent[])[];
  /** How many queued responses this one stands for. */
  readonly merged: number;
  readonly compactRevision?: number;
  readonly canceled?: boolean;
  readonly fragment?: boolean;
  readonly progress?: boolean;
}

/**
 * One watcher. Delivery is a pull API: `pull()` returns the next response or undefined
 * when nothing is ready (`pullMerged()` the same, with consecutive revisions merged); a
 * readable listener (`setReadableListener`) is told synchronously when the watcher goes from
 * nothing queued to something ready, so a server can drain many watchers in one pass without
 * a promise per event; `next(signal)` waits for one; the watcher is also an async iterable
 * of responses. A synced watcher's buffer holds at most the store's
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
  private listener: (() => void) | undefined;
  /**
   * @internal Watchers with equal filter keys get identical events from any commit (same key
   * interval, same noPut/noDelete/prevKv), so the store filters once per key and shares the array.
   */
  readonly filterKey: string;

  /** @internal Created by WatchableStore.watch. */
  constructor(
    private readonly owner: WatchableStore,
    readonly id: number,
    /** @internal */ readonly interval: KeyInterval,
    readonly options: WatchOptions,
  ) {
    const flags = `${options.noPut === true ? 1 : 0}${options.noDelete === true ? 1 : 0}${options.prevKv === true ? 1 : 0}`;
    this.filterKey = `${flags}${intervalKey(interval)}`;
  }

  /** True while responses are queued (history still to read from the backend is not counted). */
  get hasQueuedResponses(): boolean {
    return this.queue.length > 0;
  }

  get isCanceled(): boolean {
    return this.state === 'canceled';
  }

  /**
   * `fn` is called synchronously whenever the watcher goes from nothing queued to a queued
   * response, when it must read history again (a pull will produce something), and when it is
   * cancelled. It must not call back into the store's writes; pulling is fine but usually
   * deferred (one flush per event-loop turn). One listener at a time; undefined removes it.
   */
  setReadableListener(fn: (() => void) | undefined): void {
    this.listener = fn;
  }

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

  /**
   * Like pull(), but consecutive queued event responses come merged into one: at most the
   * store's maxEventsPerBatch events and maxResponseBytes estimated bytes (a single response
   * above either is still returned alone). A revision's events are never split across merged
   * responses, and fragment, progress and cancel responses are never merged. Catching up from
   * history already reads many revisions per response, so the merged form is what etcd sends then.
   */
  pullMerged(): MergedWatchResponse | undefined {
    const first = this.pull();
    if (first === undefined) return undefined;
    if (!mergeable(first)) {
      return { ...first, segments: first.events.length === 0 ? [] : [first.events], merged: 1 };
    }
    const segments: (readonly MvccEvent[])[] = [first.events];
    let revision = first.revision;
    let events = first.events.length;
    let bytes = sharedResponseBytes(first.events);
    const maxEvents = this.owner.maxEventsPerBatch;
    const maxBytes = this.owner.maxResponseBytes;
    for (;;) {
      const head = this.queue[0];
      if (head === undefined || !mergeable(head)) break;
      const size = sharedResponseBytes(head.events);
      if (events + head.events.length > maxEvents || bytes + size > maxBytes) break;
      this.queue.shift();
      this.bufferedEvents -= head.events.length;
      segments.push(head.events);
      revision = head.revision;
      events += head.events.length;
      bytes += size;
    }
    return { watcherId: this.id, revision, segments, merged: segments.length };
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
    this.wake(true);
  }

  /** @internal The watcher needs compacted history: its last response is the cancel. */
  cancelCompacted(compactRevision: number): void {
    this.owner.forget(this);
    this.state = 'canceled';
    this.enqueue({ watcherId: this.id, revision: 0, events: [], canceled: true, compactRevision });
  }

  /**
   * @internal A commit's events for this synced watcher, already filtered for its filter key
   * (the array is shared with every watcher of that key: never mutated).
   */
  deliverSynced(revision: number, filtered: readonly MvccEvent[]): void {
    if (revision < this.minRevision) return;
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
    this.wake(true);
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
      const filtered = filterEvents(events, this.options);
      if (filtered.length > 0) this.enqueue({ watcherId: this.id, revision: current, events: filtered });
    }
    if (this.nextRevision > current) {
      this.minRevision = this.nextRevision;
      this.owner.addSynced(this);
    }
  }

  private enqueue(response: WatchResponse): void {
    if (response.events.length > 0) this.eventsSinceProgress = true;
    const wasEmpty = this.queue.length === 0;
    for (const part of this.fragments(response)) this.queue.push(part);
    this.bufferedEvents += response.events.length;
    this.wake(wasEmpty);
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
    const last = { ...response, events: current };
    fragmentTails.add(last);
    parts.push(last);
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

  /** Resolves a next() waiter; tells the readable listener only on a transition (`notify`). */
  private wake(notify: boolean): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve();
    if (notify) this.listener?.();
  }
}

/** The events of `events` a watcher with these options receives (a new array; the input is shared). */
export function filterEvents(events: readonly MvccEvent[], options: WatchOptions): MvccEvent[] {
  const { noPut, noDelete, prevKv } = options;
  const out: MvccEvent[] = [];
  for (const event of events) {
    if ((event.type === 'put' && noPut === true) || (event.type === 'delete' && noDelete === true)) continue;
    out.push(prevKv !== true && event.prevKv !== undefined ? { type: event.type, kv: event.kv } : event);
  }
  return out;
}

/** A string naming the interval exactly (keys are latin1 byte strings; the separator cannot be confused since lengths lead). */
export function intervalKey(interval: KeyInterval): string {
  if (interval.single) return `s${interval.start.length}:${interval.start}`;
  return interval.end === undefined ? `a${interval.start.length}:${interval.start}` : `r${interval.start.length}:${interval.start}${interval.end}`;
}

/** Estimated encoded size of an event: its bytes plus a fixed allowance for the numbers and framing. */
export function eventBytes(event: MvccEvent): number {
  const kvBytes = (kv: { key: Uint8Array; value: Uint8Array } | undefined): number => (kv === undefined ? 0 : kv.key.length + kv.value.length + 48);
  return kvBytes(event.kv) + kvBytes(event.prevKv) + 8;
}

/** The last part of each fragmented response: it closes its revision and is not merged either. */
const fragmentTails = new WeakSet<WatchResponse>();

function mergeable(response: WatchResponse): boolean {
  return response.canceled !== true && response.fragment !== true && response.progress !== true && !fragmentTails.has(response);
}

/** Estimated bytes per shared events array, computed once however many watchers queue it. */
const sharedBytes = new WeakMap<readonly MvccEvent[], number>();

function sharedResponseBytes(events: readonly MvccEvent[]): number {
  let bytes = sharedBytes.get(events);
  if (bytes === undefined) {
    bytes = responseBytes(events);
    sharedBytes.set(events, bytes);
  }
  return bytes;
}

function responseBytes(events: readonly MvccEvent[]): number {
  let total = 0;
  for (const event of events) total += eventBytes(event);
  return total;
}
