/**
 * One Watch stream: many watchers multiplexed on one bidirectional gRPC call, with etcd's
 * protocol. Watch ids are per stream, counting up from 0 (client-chosen ids are honoured;
 * a taken one fails the create).
 *
 * Delivery has no promise per event: each mvcc watcher's readable listener puts it in the
 * stream's ready set, and one flush per event-loop turn (setImmediate) goes round the ready
 * watchers, pulls each one's queued revisions merged into one response, encodes it (a shared
 * events array is encoded once for every watcher and stream, watch-encoding.ts) and writes it
 * to the synchronous transport. When the transport says it is full the flush stops and
 * resumes once it is writable; meanwhile each watcher's bounded buffer fills until mvcc parks
 * it as a victim, so a slow client never blocks writes.
 *
 * Control responses (created, canceled, progress) are written in request order: the next
 * request is handled only once the transport accepted the previous answer. A watcher's events
 * start only after its created response, because it joins the ready set after that write.
 * A progress reply (watch id -1) claims every event up to its header revision was delivered,
 * so it is sent only when every watcher is synced with nothing queued (pending events are
 * flushed first; the reply waits until they are written) and dropped, as etcd does, when a
 * watcher is not synced.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import { WatchResponseSchema } from '../../gen/etcdserverpb/rpc_pb.js';
import type * as pb from '../../gen/etcdserverpb/rpc_pb.js';
import { WatchCreateRequest_FilterType } from '../../gen/etcdserverpb/rpc_pb.js';
import { MVCC_COMPACTED_TEXT } from '../../mvcc/errors.js';
import { WatchCreateError } from '../../mvcc/index.js';
import type { MergedWatchResponse, Watcher } from '../../mvcc/index.js';
import { revisionFromWire } from './convert.js';
import { sharedWatchEncoder, type WatchEncoder } from './watch-encoding.js';
import { responseHeader } from './header.js';
import type { CallIdentity } from '../auth/caller.js';
import type { ServerPort } from './ports.js';

/** An empty watch key means key "\0" (etcd normalises it before the permission check). */
const ZERO_KEY = new Uint8Array([0]);
/** etcd's create-failure text for a client-chosen id already in use on the stream. */
export const DUPLICATE_WATCH_ID_TEXT = 'mvcc: duplicate watch ID provided on the WatchStream';

/**
 * Where a stream's encoded WatchResponse messages go. `write` takes one whole message and
 * returns false once the transport is full (the message is still accepted); `onceWritable`
 * calls back once it can take more (or once it has ended, so a waiter is never left behind).
 */
export interface WatchTransport {
  write(bytes: Uint8Array): boolean;
  onceWritable(cb: () => void): void;
}

interface StreamWatcher {
  readonly id: bigint;
  readonly watcher: Watcher;
}

export class WatchStream {
  private readonly watchers = new Map<bigint, StreamWatcher>();
  /** Watchers with something to pull, in round-robin order. */
  private readonly ready = new Set<StreamWatcher>();
  private nextId = 0n;
  private closed = false;
  private flushScheduled = false;
  /** The transport said it is full; nothing more is written until it is writable. */
  private full = false;
  private readonly writableWaiters: (() => void)[] = [];
  /** Progress requests waiting for the queued events to be written first (each gets its reply). */
  private pendingProgress: (() => void)[] = [];

  constructor(
    private readonly port: ServerPort,
    private readonly transport: WatchTransport,
    private readonly onError: (error: unknown) => void,
    private readonly encoder: WatchEncoder = sharedWatchEncoder,
    /** Who opened the stream: each create re-resolves its token (etcd re-reads it per create). */
    private readonly caller: CallIdentity | undefined = undefined,
  ) {}

  get size(): number {
    return this.watchers.size;
  }

  handle(request: pb.WatchRequest): Promise<void> {
    const r = request.requestUnion;
    switch (r.case) {
      case 'createRequest':
        return this.create(r.value);
      case 'cancelRequest':
        return this.cancel(r.value.watchId);
      case 'progressRequest':
        return this.progress();
      default:
        return Promise.resolve();
    }
  }

  /** Ends every watcher of the stream (the call ended). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const entry of this.watchers.values()) this.stop(entry);
    this.watchers.clear();
    this.ready.clear();
    for (const resolve of this.pendingProgress.splice(0)) resolve();
    this.releaseWriters();
  }

  private async create(req: pb.WatchCreateRequest): Promise<void> {
    const startRevision = revisionFromWire(req.startRevision);
    let id = req.watchId;
    let watcher: Watcher;
    try {
      const refusal = await this.port.auth?.watchRefusal(this.caller, req.key.length === 0 ? ZERO_KEY : req.key, req.rangeEnd);
      if (refusal !== undefined) throw new WatchCreateError(refusal, 'ERR_WATCH_PERMISSION_DENIED');
      if (id !== 0n && this.watchers.has(id)) throw new WatchCreateError(DUPLICATE_WATCH_ID_TEXT, 'ERR_WATCH_DUPLICATE_ID');
      // etcd main answers a negative start revision with the compacted text.
      if (startRevision < 0) throw new WatchCreateError(MVCC_COMPACTED_TEXT, 'ERR_WATCH_NEGATIVE_REVISION');
      if (this.closed) return;
      watcher = this.port.watchable.watch({
        key: req.key,
        rangeEnd: req.rangeEnd,
        startRevision,
        noPut: req.filters.includes(WatchCreateRequest_FilterType.NOPUT),
        noDelete: req.filters.includes(WatchCreateRequest_FilterType.NODELETE),
        prevKv: req.prevKv,
        progressNotify: req.progressNotify,
        fragment: req.fragment,
      });
    } catch (error) {
      if (!(error instanceof WatchCreateError)) throw error;
      await this.control(create(WatchResponseSchema, { header: responseHeader(this.port), watchId: -1n, created: true, canceled: true, cancelReason: error.reason }));
      return;
    }
    if (id === 0n) {
      while (this.watchers.has(this.nextId)) this.nextId += 1n;
      id = this.nextId;
      this.nextId += 1n;
    }
    const entry: StreamWatcher = { id, watcher };
    this.watchers.set(id, entry);
    const accepted = this.control(create(WatchResponseSchema, { header: responseHeader(this.port), watchId: id, created: true }));
    // Only now may its events follow: the created response is on the transport.
    watcher.setReadableListener(() => this.markReady(entry));
    this.markReady(entry);
    await accepted;
  }

  private async cancel(id: bigint): Promise<void> {
    const entry = this.watchers.get(id);
    if (entry === undefined) return; // unknown ids are ignored, as etcd does
    this.watchers.delete(id);
    this.stop(entry);
    await this.control(create(WatchResponseSchema, { header: responseHeader(this.port), watchId: id, canceled: true }));
  }

  /**
   * One reply with watch_id -1 if every watcher of the stream is synced; otherwise none (etcd
   * 3.5). Events still queued are written first, so the reply never overtakes them.
   */
  private progress(): Promise<void> {
    if (!this.allSynced()) return Promise.resolve();
    if (this.anyQueued()) {
      this.flush();
      if (this.anyQueued() || this.full) {
        return new Promise<void>((resolve) => this.pendingProgress.push(resolve));
      }
    }
    return this.control(create(WatchResponseSchema, { header: responseHeader(this.port), watchId: -1n }));
  }

  private allSynced(): boolean {
    for (const entry of this.watchers.values()) if (!entry.watcher.isSynced) return false;
    return true;
  }

  private anyQueued(): boolean {
    for (const entry of this.watchers.values()) if (entry.watcher.hasQueuedResponses) return true;
    return false;
  }

  /** Called by flush once nothing is ready: answers a waiting progress request (or drops it, like etcd, if a watcher fell behind). */
  private settleProgress(): void {
    if (this.pendingProgress.length === 0 || this.full) return;
    const synced = this.allSynced();
    if (synced && this.anyQueued()) return;
    for (const resolve of this.pendingProgress.splice(0)) {
      if (synced) void this.control(create(WatchResponseSchema, { header: responseHeader(this.port), watchId: -1n })).then(resolve);
      else resolve();
    }
  }

  private stop(entry: StreamWatcher): void {
    this.ready.delete(entry);
    entry.watcher.setReadableListener(undefined);
    entry.watcher.cancel();
  }

  /** Writes a control response; resolves once the transport can take more. */
  private control(response: pb.WatchResponse): Promise<void> {
    if (this.closed) return Promise.resolve();
    const accepted = this.transport.write(toBinary(WatchResponseSchema, response));
    if (accepted && !this.full) return Promise.resolve();
    this.waitWritable();
    return new Promise<void>((resolve) => this.writableWaiters.push(resolve));
  }

  private waitWritable(): void {
    if (this.full) return;
    this.full = true;
    this.transport.onceWritable(() => {
      this.full = false;
      this.releaseWriters();
      this.flush();
    });
  }

  private releaseWriters(): void {
    for (const resolve of this.writableWaiters.splice(0)) resolve();
  }

  private markReady(entry: StreamWatcher): void {
    if (this.closed || this.watchers.get(entry.id) !== entry) return;
    this.ready.add(entry);
    if (this.flushScheduled || this.full) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /**
   * Writes what the ready watchers have, one merged response per watcher per round, until
   * none has anything or the transport is full (a response pulled is always written at once,
   * so nothing taken from a watcher is ever held back unwritten).
   */
  private flush(): void {
    try {
      while (!this.closed && !this.full) {
        const entry = this.nextReady();
        if (entry === undefined) break;
        const response = entry.watcher.pullMerged();
        if (response === undefined) continue;
        const accepted = this.transport.write(this.encode(entry.id, response));
        if (response.canceled === true) {
          // The compaction cancel is the watcher's last response; it is gone from the stream.
          if (this.watchers.get(entry.id) === entry) this.watchers.delete(entry.id);
        } else if (entry.watcher.hasQueuedResponses || !entry.watcher.isSynced) {
          // More to pull (queued, or history still to read): back of the round.
          this.ready.add(entry);
        }
        if (!accepted) this.waitWritable();
      }
      if (!this.closed) this.settleProgress();
    } catch (error) {
      if (!this.closed) this.onError(error);
    }
  }

  private nextReady(): StreamWatcher | undefined {
    for (const entry of this.ready) {
      this.ready.delete(entry);
      return entry;
    }
    return undefined;
  }

  private encode(watchId: bigint, response: MergedWatchResponse): Uint8Array {
    const shared = responseHeader(this.port, response.revision);
    // A compaction cancel carries header revision 0 (etcd sends it so); responseHeader would
    // fill it in. Headers are shared between responses: copied, never mutated.
    const header = response.canceled === true ? { ...shared, revision: BigInt(response.revision) } : shared;
    return this.encoder.encode({
      header,
      watchId,
      segments: response.segments,
      ...(response.canceled === true ? { canceled: true } : {}),
      ...(response.compactRevision === undefined ? {} : { compactRevision: response.compactRevision }),
      ...(response.fragment === true ? { fragment: true } : {}),
    });
  }
}
