/**
 * Every lease keep-alive of a client shares one LeaseKeepAlive stream. Each lease is renewed a
 * third of its TTL after its previous renewal was sent; its deadline is moved to
 * `send time + TTL` when the server confirms it (measured from the send, so the local
 * deadline is never later than the server's). A lease is lost when the server answers TTL 0,
 * or when its deadline passes on the local monotonic clock without a confirmation.
 */
import { create } from '@bufbuild/protobuf';
import { Lease, LeaseKeepAliveRequestSchema } from '../gen/etcdserverpb/rpc_pb.js';
import type { LeaseKeepAliveRequest, LeaseKeepAliveResponse } from '../gen/etcdserverpb/rpc_pb.js';
import { ConclaveError, toHex } from '../base/index.js';
import type { Clock, Logger } from '../base/index.js';
import type { StreamLike } from './channel.js';
import { fromGrpcError, isEndpointFailure } from './errors.js';
import type { Transport } from './transport.js';

/** The lease is gone: the server said so, or its TTL passed without a confirmed renewal. */
export class LeaseLostError extends ConclaveError {
  readonly leaseId: bigint;

  constructor(leaseId: bigint, code: 'ERR_LEASE_EXPIRED' | 'ERR_LEASE_KEEPALIVE_TIMEOUT' | 'ERR_LEASE_REVOKED', message: string) {
    super(code, `lease ${toHex(leaseId)}: ${message}`);
    this.name = 'LeaseLostError';
    this.leaseId = leaseId;
  }
}

export interface KeepAliveListener {
  /** A renewal was confirmed; the lease is alive until at least `deadlineMs` (local clock). */
  renewed?(deadlineMs: number, latencyMs: number): void;
  /** The lease is lost; called once, after which the registration is gone. */
  lost(error: LeaseLostError): void;
}

interface Entry {
  readonly leaseId: bigint;
  readonly ttlMs: number;
  deadlineMs: number;
  /** Send times of renewals not yet answered on the current stream, oldest first (at most 3). */
  outstanding: number[];
  cancelSend: (() => void) | undefined;
  cancelDeadline: (() => void) | undefined;
  readonly listener: KeepAliveListener;
}

const maxOutstanding = 3;
const reconnectBaseMs = 50;
const reconnectMaxMs = 1_000;

export interface KeepAliveRegistration {
  readonly leaseId: bigint;
  /** Local-clock time until which the lease is known to be alive. */
  readonly deadlineMs: number;
  /** Stops renewing (the lease then expires on its own unless revoked). */
  stop(): void;
}

export class KeepAliveHub {
  private readonly entries = new Map<bigint, Entry>();
  private stream: StreamLike<LeaseKeepAliveRequest, LeaseKeepAliveResponse> | undefined;
  private cancelReconnect: (() => void) | undefined;
  private reconnectAttempt = 0;
  private stopped = false;
  streamsOpened = 0;

  constructor(private readonly transport: Transport, private readonly clock: Clock, private readonly logger: Logger) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * Starts renewing `leaseId`, granted with `ttlSeconds` by a request sent at `grantSentAtMs`.
   * A lease registered twice replaces its earlier registration.
   */
  register(leaseId: bigint, ttlSeconds: number, grantSentAtMs: number, listener: KeepAliveListener): KeepAliveRegistration {
    this.unregister(leaseId);
    const ttlMs = ttlSeconds * 1000;
    const entry: Entry = {
      leaseId, ttlMs, deadlineMs: grantSentAtMs + ttlMs, outstanding: [], cancelSend: undefined, cancelDeadline: undefined, listener,
    };
    this.entries.set(leaseId, entry);
    this.armDeadline(entry);
    this.scheduleSend(entry, Math.max(0, grantSentAtMs + ttlMs / 3 - this.clock.nowMs()));
    if (this.stream === undefined && this.cancelReconnect === undefined) this.open();
    return {
      leaseId,
      get deadlineMs() {
        return entry.deadlineMs;
      },
      stop: () => {
        if (this.entries.get(leaseId) === entry) this.unregister(leaseId);
      },
    };
  }

  /** Ends every registration silently (the client is closing). */
  stop(): void {
    this.stopped = true;
    for (const leaseId of [...this.entries.keys()]) this.unregister(leaseId);
    this.cancelReconnect?.();
    this.closeStream();
  }

  /** Breaks the stream as a network fault would (for tests). */
  interrupt(): void {
    this.stream?.cancel();
  }

  private unregister(leaseId: bigint): void {
    const entry = this.entries.get(leaseId);
    if (entry === undefined) return;
    this.entries.delete(leaseId);
    entry.cancelSend?.();
    entry.cancelDeadline?.();
    if (this.entries.size === 0) this.closeStream();
  }

  private closeStream(): void {
    const stream = this.stream;
    this.stream = undefined;
    stream?.cancel();
  }

  private lose(entry: Entry, error: LeaseLostError): void {
    if (this.entries.get(entry.leaseId) !== entry) return;
    this.unregister(entry.leaseId);
    entry.listener.lost(error);
  }

  private armDeadline(entry: Entry): void {
    entry.cancelDeadline?.();
    entry.cancelDeadline = this.clock.setTimer(Math.max(0, entry.deadlineMs - this.clock.nowMs()), () => {
      this.lose(entry, new LeaseLostError(entry.leaseId, 'ERR_LEASE_KEEPALIVE_TIMEOUT', 'its TTL passed without a confirmed keep-alive'));
    });
  }

  private scheduleSend(entry: Entry, delayMs: number): void {
    entry.cancelSend?.();
    entry.cancelSend = this.clock.setTimer(delayMs, () => {
      entry.cancelSend = undefined;
      this.send(entry);
    });
  }

  private send(entry: Entry): void {
    if (this.entries.get(entry.leaseId) !== entry) return;
    // Retry a third of the TTL later whatever happens, so a lost response cannot stall us.
    this.scheduleSend(entry, entry.ttlMs / 3);
    const stream = this.stream;
    if (stream === undefined || entry.outstanding.length >= maxOutstanding) return;
    entry.outstanding.push(this.clock.nowMs());
    stream.write(create(LeaseKeepAliveRequestSchema, { ID: entry.leaseId }));
  }

  private open(): void {
    this.cancelReconnect = undefined;
    if (this.stopped || this.entries.size === 0) return;
    let opened;
    try {
      // hasleader: a member cut off from its leader ends the stream, and we move elsewhere.
      opened = this.transport.bidi(Lease.method.leaseKeepAlive, { hasleader: 'true' });
    } catch {
      return;
    }
    const { stream, endpoint } = opened;
    this.stream = stream;
    this.streamsOpened += 1;
    stream.on('data', (response: LeaseKeepAliveResponse) => {
      if (this.stream === stream) this.onResponse(response);
    });
    const onBroken = (error: unknown): void => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      const mapped = fromGrpcError(error, true);
      if (isEndpointFailure(mapped)) this.transport.pool.markFailed(endpoint.index);
      this.logger.debug('keep-alive stream broken', { code: mapped.code, endpoint: endpoint.address });
      for (const entry of this.entries.values()) entry.outstanding = [];
      if (this.stopped || this.entries.size === 0) return;
      const delayMs = Math.min(reconnectMaxMs, reconnectBaseMs * 2 ** this.reconnectAttempt);
      this.reconnectAttempt = Math.min(this.reconnectAttempt + 1, 10);
      this.cancelReconnect = this.clock.setTimer(delayMs, () => this.open());
    };
    stream.on('error', onBroken);
    stream.on('end', () => onBroken(new Error('keep-alive stream ended by the server')));
    // A fresh stream renews everything at once: the gap may have eaten into the TTLs.
    for (const entry of this.entries.values()) this.send(entry);
  }

  private onResponse(response: LeaseKeepAliveResponse): void {
    const entry = this.entries.get(response.ID);
    if (entry === undefined) return;
    const sentAtMs = entry.outstanding.shift();
    if (response.TTL <= 0n) {
      this.lose(entry, new LeaseLostError(entry.leaseId, 'ERR_LEASE_EXPIRED', 'the server reports it expired or unknown'));
      return;
    }
    this.reconnectAttempt = 0;
    if (sentAtMs === undefined) return;
    const deadlineMs = sentAtMs + Number(response.TTL) * 1000;
    if (deadlineMs > entry.deadlineMs) {
      entry.deadlineMs = deadlineMs;
      this.armDeadline(entry);
    }
    entry.listener.renewed?.(entry.deadlineMs, this.clock.nowMs() - sentAtMs);
  }
}
