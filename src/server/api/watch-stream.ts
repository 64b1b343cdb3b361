/**
 * One Watch stream: many watchers multiplexed on one bidirectional gRPC call, with etcd's
 * protocol. Watch ids are per stream, counting up from 0 (client-chosen ids are honoured;
 * a taken one fails the create). Control responses (created, canceled, progress) are written
 * in request order, and a watcher's events start only after its created response, because
 * both go through the same ordered stream writes and a watcher's pump starts after its
 * created response was written. Each watcher has a pump that pulls from the mvcc watcher and
 * writes; when the transport is full the pump waits for 'drain' and the watcher's own bounded
 * buffer fills until mvcc parks it as a victim, so a slow client never blocks writes.
 */
import { create } from '@bufbuild/protobuf';
import { WatchResponseSchema } from '../../gen/etcdserverpb/rpc_pb.js';
import type * as pb from '../../gen/etcdserverpb/rpc_pb.js';
import { WatchCreateRequest_FilterType } from '../../gen/etcdserverpb/rpc_pb.js';
import { MVCC_COMPACTED_TEXT } from '../../mvcc/errors.js';
import { WatchCreateError } from '../../mvcc/index.js';
import type { Watcher, WatchResponse as MvccWatchResponse } from '../../mvcc/index.js';
import { revisionFromWire } from './convert.js';
import { sharedEventToPb } from './watch-encoding.js';
import { responseHeader } from './header.js';
import type { ServerPort } from './ports.js';

/** An empty watch key means key "\0" (etcd normalises it before the permission check). */
const ZERO_KEY = new Uint8Array([0]);
/** etcd's create-failure text for a client-chosen id already in use on the stream. */
export const DUPLICATE_WATCH_ID_TEXT = 'mvcc: duplicate watch ID provided on the WatchStream';

/** Writes one response; resolves once the transport accepted it (after 'drain' if it was full). */
export type WatchSink = (response: pb.WatchResponse) => Promise<void>;

interface StreamWatcher {
  readonly id: bigint;
  readonly watcher: Watcher;
  readonly abort: AbortController;
}

export class WatchStream {
  private readonly watchers = new Map<bigint, StreamWatcher>();
  private nextId = 0n;
  private closed = false;

  constructor(
    private readonly port: ServerPort,
    private readonly send: WatchSink,
    private readonly onPumpError: (error: unknown) => void,
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
    this.closed = true;
    for (const entry of this.watchers.values()) this.stop(entry);
    this.watchers.clear();
  }

  private async create(req: pb.WatchCreateRequest): Promise<void> {
    const startRevision = revisionFromWire(req.startRevision);
    let id = req.watchId;
    let watcher: Watcher;
    try {
      const refusal = await this.port.auth?.watchRefusal(req.key.length === 0 ? ZERO_KEY : req.key, req.rangeEnd);
      if (refusal !== undefined) throw new WatchCreateError(refusal, 'ERR_WATCH_PERMISSION_DENIED');
      if (id !== 0n && this.watchers.has(id)) throw new WatchCreateError(DUPLICATE_WATCH_ID_TEXT, 'ERR_WATCH_DUPLICATE_ID');
      // etcd main answers a negative start revision with the compacted text.
      if (startRevision < 0) throw new WatchCreateError(MVCC_COMPACTED_TEXT, 'ERR_WATCH_NEGATIVE_REVISION');
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
      await this.send(create(WatchResponseSchema, { header: responseHeader(this.port), watchId: -1n, created: true, canceled: true, cancelReason: error.reason }));
      return;
    }
    if (id === 0n) {
      while (this.watchers.has(this.nextId)) this.nextId += 1n;
      id = this.nextId;
      this.nextId += 1n;
    }
    const entry: StreamWatcher = { id, watcher, abort: new AbortController() };
    this.watchers.set(id, entry);
    const created = this.send(create(WatchResponseSchema, { header: responseHeader(this.port), watchId: id, created: true }));
    void created.then(() => this.pump(entry), () => this.stop(entry));
    await created;
  }

  private async cancel(id: bigint): Promise<void> {
    const entry = this.watchers.get(id);
    if (entry === undefined) return; // unknown ids are ignored, as etcd does
    this.watchers.delete(id);
    this.stop(entry);
    await this.send(create(WatchResponseSchema, { header: responseHeader(this.port), watchId: id, canceled: true }));
  }

  /** One reply with watch_id -1 if every watcher of the stream is synced; otherwise none (etcd 3.5). */
  private async progress(): Promise<void> {
    for (const entry of this.watchers.values()) if (!entry.watcher.isSynced) return;
    await this.send(create(WatchResponseSchema, { header: responseHeader(this.port), watchId: -1n }));
  }

  private stop(entry: StreamWatcher): void {
    entry.abort.abort(new Error('watcher stopped'));
    entry.watcher.cancel();
  }

  private async pump(entry: StreamWatcher): Promise<void> {
    const signal = entry.abort.signal;
    try {
      for (;;) {
        const response = await entry.watcher.next(signal);
        if (response === undefined || signal.aborted || this.closed) return;
        await this.send(this.toPb(entry.id, response));
        if (response.canceled) {
          // The compaction cancel is the watcher's last response; it is gone from the stream.
          if (this.watchers.get(entry.id) === entry) this.watchers.delete(entry.id);
          return;
        }
      }
    } catch (error) {
      if (signal.aborted || this.closed) return;
      this.onPumpError(error);
    }
  }

  private toPb(watchId: bigint, response: MvccWatchResponse): pb.WatchResponse {
    const shared = responseHeader(this.port, response.revision);
    // A compaction cancel carries header revision 0 (etcd sends it so); responseHeader would
    // fill it in. Headers are shared between responses: copied, never mutated.
    const header = response.canceled ? { ...shared, revision: BigInt(response.revision) } : shared;
    return create(WatchResponseSchema, {
      header,
      watchId,
      events: response.events.map(sharedEventToPb),
      canceled: response.canceled === true,
      compactRevision: BigInt(response.compactRevision ?? 0),
      fragment: response.fragment === true,
    });
  }
}
