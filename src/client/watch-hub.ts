/**
 * All watchers of a client share one Watch stream. The hub sends create requests, matches the
 * server's created responses to them in request order (etcd answers creates in order), routes
 * events by watch id, and when the stream breaks it reopens it (on the next healthy endpoint,
 * with back-off) and re-creates every watcher from the revision after the last event it
 * received, so no event is skipped or repeated. A start revision older than the compaction
 * point ends the watcher with WatchCompactedError.
 */
import { create } from '@bufbuild/protobuf';
import { Watch, WatchCreateRequest_FilterType, WatchRequestSchema } from '../gen/etcdserverpb/rpc_pb.js';
import type { WatchRequest, WatchResponse } from '../gen/etcdserverpb/rpc_pb.js';
import { Event_EventType } from '../gen/mvccpb/kv_pb.js';
import type { Clock, Logger } from '../base/index.js';
import { ClientClosedError, EtcdError, PermissionDeniedError, codeForEtcdMessage, fromGrpcError, isEndpointFailure, WatchCompactedError, GrpcStatus } from './errors.js';
import type { StreamLike } from './channel.js';
import type { Namespace } from './keys.js';
import { fromWireKv } from './results.js';
import type { Transport } from './transport.js';
import type { WatchEvent, Watcher, WatcherHooks } from './watcher.js';
import { recordWatchReconnect } from '../telemetry/index.js';

const reconnectBaseMs = 50;
const reconnectMaxMs = 2_000;

export class WatchHub implements WatcherHooks {
  private stream: StreamLike<WatchRequest, WatchResponse> | undefined;
  private readonly watchers = new Set<Watcher>();
  private readonly byId = new Map<bigint, Watcher>();
  /** Watchers whose create request is in flight, in send order; closed ones stay as placeholders. */
  private pending: Watcher[] = [];
  private reconnectAttempt = 0;
  private cancelReconnect: (() => void) | undefined;
  private stopped: unknown;
  /** Number of times the stream was (re)opened; for tests and diagnostics. */
  streamsOpened = 0;

  constructor(
    private readonly transport: Transport,
    private readonly clock: Clock,
    private readonly namespace: Namespace,
    private readonly logger: Logger,
    /** Logged-in clients: drops the refused token and logs in again (see auth-session.ts). */
    private readonly refreshToken?: () => Promise<void>,
  ) {}

  get size(): number {
    return this.watchers.size;
  }

  add(watcher: Watcher): void {
    if (this.stopped !== undefined) {
      watcher.fail(new ClientClosedError(this.stopped));
      return;
    }
    if (watcher.closed) return;
    this.watchers.add(watcher);
    if (this.stream !== undefined) this.sendCreate(watcher);
    else if (this.cancelReconnect === undefined) this.open();
  }

  remove(watcher: Watcher): void {
    if (!this.watchers.delete(watcher)) return;
    this.cancelServerWatch(watcher);
  }

  park(watcher: Watcher): void {
    watcher.parked = true;
    this.cancelServerWatch(watcher);
  }

  unpark(watcher: Watcher): void {
    watcher.parked = false;
    if (this.stream !== undefined && this.watchers.has(watcher)) this.sendCreate(watcher);
  }

  /**
   * Asks for a progress report: if every watcher on the stream has caught up, each one's
   * resume point moves to the current revision.
   */
  requestProgress(): void {
    this.write(progressRequest());
  }

  /** Forces the current stream to break, as a network fault would (for tests). */
  interrupt(): void {
    this.stream?.cancel();
  }

  /** Ends every watcher with `reason` and stops reconnecting. */
  stop(reason: unknown): void {
    if (this.stopped !== undefined) return;
    this.stopped = reason ?? new ClientClosedError();
    this.cancelReconnect?.();
    this.cancelReconnect = undefined;
    const stream = this.stream;
    this.stream = undefined;
    stream?.cancel();
    for (const watcher of [...this.watchers]) watcher.fail(new ClientClosedError(reason));
    this.watchers.clear();
  }

  private cancelServerWatch(watcher: Watcher): void {
    const id = watcher.watchId;
    watcher.watchId = undefined;
    if (id === undefined) return;
    this.byId.delete(id);
    this.write({ requestUnion: { case: 'cancelRequest', value: { watchId: id } } });
  }

  private open(): void {
    this.cancelReconnect = undefined;
    if (this.stopped !== undefined || this.watchers.size === 0) return;
    let opened;
    try {
      // hasleader: a member cut off from its leader ends the stream, and we move elsewhere.
      opened = this.transport.bidi(Watch.method.watch, { hasleader: 'true' });
    } catch (error) {
      this.stop(error);
      return;
    }
    const { stream, endpoint } = opened;
    this.stream = stream;
    this.streamsOpened += 1;
    this.pending = [];
    this.byId.clear();
    stream.on('data', (response: WatchResponse) => {
      if (this.stream === stream) this.onResponse(response);
    });
    const onBroken = (error: unknown): void => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      const mapped = fromGrpcError(error, true);
      if (isEndpointFailure(mapped)) this.transport.pool.markFailed(endpoint.index);
      this.logger.debug('watch stream broken', { code: mapped.code, endpoint: endpoint.address });
      this.scheduleReconnect();
    };
    stream.on('error', onBroken);
    stream.on('end', () => onBroken(new EtcdError('ERR_UNAVAILABLE', GrpcStatus.UNAVAILABLE, 'watch stream ended by the server')));
    for (const watcher of this.watchers) {
      watcher.watchId = undefined;
      if (!watcher.parked) this.sendCreate(watcher);
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped !== undefined || this.cancelReconnect !== undefined) return;
    for (const watcher of this.watchers) watcher.watchId = undefined;
    this.byId.clear();
    this.pending = [];
    const delayMs = Math.min(reconnectMaxMs, reconnectBaseMs * 2 ** this.reconnectAttempt);
    this.reconnectAttempt = Math.min(this.reconnectAttempt + 1, 10);
    recordWatchReconnect(this.reconnectAttempt);
    this.cancelReconnect = this.clock.setTimer(delayMs, () => this.open());
  }

  private write(request: Parameters<typeof create<typeof WatchRequestSchema>>[1]): void {
    const stream = this.stream;
    if (stream === undefined) return;
    stream.write(create(WatchRequestSchema, request));
  }

  private sendCreate(watcher: Watcher): void {
    this.pending.push(watcher);
    const filters: WatchCreateRequest_FilterType[] = [];
    if (watcher.noPut) filters.push(WatchCreateRequest_FilterType.NOPUT);
    if (watcher.noDelete) filters.push(WatchCreateRequest_FilterType.NODELETE);
    this.write({
      requestUnion: {
        case: 'createRequest',
        value: {
          key: this.namespace.key(watcher.key),
          rangeEnd: this.namespace.rangeEnd(watcher.rangeEnd),
          startRevision: watcher.nextRevision,
          prevKv: watcher.prevKv,
          filters,
          // Periodic progress lets an idle watcher's resume point move forward, so a resume
          // after a long quiet spell does not start below a later compaction.
          progressNotify: true,
        },
      },
    });
  }

  private onResponse(response: WatchResponse): void {
    if (response.created) {
      const watcher = this.pending.shift();
      if (watcher === undefined) return;
      if (response.canceled || response.watchId < 0n) {
        // A stream opened with a token that lapsed since: log in again and reopen it (the
        // watcher stays registered, so the new stream creates it again).
        if (this.refreshToken !== undefined && INVALID_TOKEN_REASON.test(response.cancelReason) && this.watchers.has(watcher)) {
          const stream = this.stream;
          void this.refreshToken().then(() => {
            if (this.stream === stream) this.interrupt();
          }, (error: unknown) => watcher.fail(error));
          return;
        }
        watcher.fail(cancelError(response));
        return;
      }
      this.reconnectAttempt = 0;
      if (watcher.closed || watcher.parked || !this.watchers.has(watcher)) {
        this.write({ requestUnion: { case: 'cancelRequest', value: { watchId: response.watchId } } });
        return;
      }
      watcher.watchId = response.watchId;
      this.byId.set(response.watchId, watcher);
      watcher.created(response.header?.revision ?? 0n);
      return;
    }
    if (isProgress(response)) {
      // etcd reports progress only for watchers that have caught up: every event up to
      // header.revision was delivered. -1 answers a progress request for the whole stream.
      const targets = response.watchId === -1n ? [...this.byId.values()] : [this.byId.get(response.watchId)];
      const next = response.header!.revision + 1n;
      for (const target of targets) if (target !== undefined && target.nextRevision < next) target.nextRevision = next;
      return;
    }
    const watcher = this.byId.get(response.watchId);
    if (watcher === undefined) return;
    if (response.events.length > 0) {
      // Guard against a replayed revision: only events at or after the next expected one.
      const from = watcher.nextRevision;
      const events: WatchEvent[] = [];
      for (const event of response.events) {
        const kv = event.kv;
        if (kv === undefined || kv.modRevision < from) continue;
        events.push({
          type: event.type === Event_EventType.DELETE ? 'delete' : 'put',
          kv: fromWireKv(kv, this.namespace),
          prevKv: event.prevKv === undefined ? undefined : fromWireKv(event.prevKv, this.namespace),
          revision: kv.modRevision,
        });
      }
      watcher.deliver(events);
    }
    if (response.canceled) {
      this.byId.delete(response.watchId);
      watcher.watchId = undefined;
      if (!watcher.closed && !watcher.parked) watcher.fail(cancelError(response));
    }
  }
}

/** An empty response that only reports how far the watch has caught up. */
function isProgress(response: WatchResponse): boolean {
  return response.events.length === 0 && !response.canceled && !response.created && response.compactRevision === 0n
    && response.header !== undefined && response.header.revision !== 0n;
}

/** Asks the server for a progress report on every watcher of the stream (for tests, diagnostics). */
export function progressRequest(): { requestUnion: { case: 'progressRequest'; value: object } } {
  return { requestUnion: { case: 'progressRequest', value: {} } };
}

/** etcd's watch-create refusal when the stream's token is unknown or expired. */
const INVALID_TOKEN_REASON = /invalid auth token/;

function cancelError(response: WatchResponse): Error {
  if (response.compactRevision > 0n) return new WatchCompactedError(response.compactRevision);
  const reason = response.cancelReason;
  // etcd words auth refusals of a create as a gRPC status text.
  const code = codeForEtcdMessage(reason.replace(/^rpc error: code = \w+ desc = /, '')) ?? 'ERR_WATCH_CANCELED';
  if (code === 'ERR_ETCD_PERMISSION_DENIED') return new PermissionDeniedError(GrpcStatus.CANCELLED, reason);
  return new EtcdError(code, GrpcStatus.CANCELLED, reason === '' ? 'the server canceled the watch' : reason);
}
