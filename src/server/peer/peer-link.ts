import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { connect as connectTcp, isIP } from 'node:net';
import type { Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import type { Clock } from '../../base/clock.js';
import type { Logger } from '../../base/logger.js';
import type { Message, NodeId } from '../../raft/index.js';
import { BatchAckSchema, MessageBatchSchema } from '../../gen/conclave/peer_pb.js';
import type { PeerEvents } from '../transport.js';
import type { TlsMaterial } from '../tls.js';
import { encodeBatch } from './codec.js';
import { FrameReader, RAFT_STREAM_ALPN, RAFT_STREAM_PREAMBLE, encodeFrame } from './frames.js';

/** Most messages queued for one peer; beyond it new messages are dropped (raft retries). */
export const MAX_QUEUED_MESSAGES_PER_PEER = 8192;
/**
 * Bytes written to a peer's socket and not yet taken by the kernel beyond which new batches
 * are dropped (raft retries): a stopped or very slow peer must not grow our heap without bound.
 */
export const MAX_UNSENT_BYTES_PER_PEER = 256 * 1024 * 1024;
/**
 * With a batch unacknowledged, a connection on which nothing arrived for this long is taken
 * as dead and reopened (a SIGSTOPed peer or a proxy that holds traffic still keeps the TCP
 * connection up), as grpc-js's keepalive (10 s ping, 5 s timeout) did for the gRPC stream.
 */
export const ACK_TIMEOUT_MS = 15_000;
const RECONNECT_MIN_MS = 50;
const RECONNECT_MAX_MS = 2000;
/** Shared by every batch without a snapshot (nearly all of them). */
const NO_SNAPSHOTS: NodeId[] = [];
/** Acks are small (a refusal reason at most). */
const MAX_ACK_FRAME_BYTES = 64 * 1024;

export interface PeerLinkOptions {
  readonly memberId: bigint;
  readonly tls?: TlsMaterial | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly events: PeerEvents;
  clusterId(): bigint;
  readonly onRoundTrip?: (peer: NodeId, seconds: number) => void;
}

/**
 * The outgoing half toward one peer: one raft stream connection (see frames.ts) carrying one
 * MessageBatch per flush, acknowledged in order. A send flushes at once (a Ready's messages
 * arrive together, so they are already one batch), which puts the bytes in the kernel before
 * the Ready's own WAL write blocks the loop: the leader's disk write and its followers' overlap.
 * A broken connection is reopened with exponential back-off; while the peer is unreachable its
 * messages are dropped and raft is told, so it probes instead of pipelining. Snapshots are
 * reported delivered when their batch is acknowledged, failed when the connection breaks first.
 */
export class PeerLink {
  private socket: Socket | undefined;
  private queue: Message[] = [];
  /** Per batch written and not yet acknowledged: the snapshot targets it carried, and when it was written. */
  private readonly awaitingAck: Array<{ readonly snapshots: NodeId[]; readonly writtenAtMs: number }> = [];
  private lastHeardMs = 0;
  private backoffMs = RECONNECT_MIN_MS;
  private reconnectAtMs = 0;
  private closed = false;
  private reportedUnreachable = false;

  constructor(
    readonly id: NodeId,
    readonly url: string,
    private readonly options: PeerLinkOptions,
  ) {}

  enqueue(m: Message): void {
    if (this.queue.length >= MAX_QUEUED_MESSAGES_PER_PEER) {
      this.drop([m]);
      return;
    }
    this.queue.push(m);
  }

  /** Writes everything queued as one batch. */
  flush(): void {
    if (this.closed || this.queue.length === 0) return;
    const messages = this.queue;
    this.queue = [];
    const socket = this.openSocket();
    if (socket === undefined || socket.writableLength > MAX_UNSENT_BYTES_PER_PEER) {
      this.drop(messages);
      return;
    }
    this.write(socket, messages);
  }

  /** Writes an empty batch: its ack says whether the peer refuses us. */
  probe(): void {
    if (this.closed) return;
    const socket = this.openSocket();
    if (socket !== undefined) this.write(socket, []);
  }

  close(): void {
    this.closed = true;
    this.socket?.destroy();
    this.socket = undefined;
  }

  private write(socket: Socket, messages: Message[]): void {
    const nowMs = this.options.clock.nowMs();
    // A connection that went silent with batches outstanding is dead: reopen it (see ACK_TIMEOUT_MS).
    if (this.awaitingAck.length > 0 && nowMs - this.lastHeardMs > ACK_TIMEOUT_MS) {
      this.options.logger.warn('peer stopped acknowledging; reconnecting', { peer: this.id.toString(16), silentMs: nowMs - this.lastHeardMs });
      socket.destroy();
      this.broken(socket);
      this.drop(messages);
      return;
    }
    if (this.awaitingAck.length === 0) this.lastHeardMs = nowMs;
    const batch = encodeBatch(this.options.clusterId(), this.options.memberId, messages);
    const snapshots = messages.some((m) => m.type === 'snap') ? messages.filter((m) => m.type === 'snap').map((m) => m.to) : NO_SNAPSHOTS;
    this.awaitingAck.push({ snapshots, writtenAtMs: performance.now() });
    socket.write(encodeFrame(toBinary(MessageBatchSchema, batch)));
  }

  private openSocket(): Socket | undefined {
    if (this.socket !== undefined) return this.socket;
    if (this.options.clock.nowMs() < this.reconnectAtMs) return undefined;
    const target = new URL(this.url);
    const host = target.hostname.replace(/^\[|\]$/g, '');
    const port = Number(target.port);
    const socket = target.protocol === 'https:'
      ? connectTls({
          host,
          port,
          // SNI carries host names only (RFC 6066); an IP target is still verified against the certificate.
          ...(isIP(host) === 0 ? { servername: host } : {}),
          ALPNProtocols: [RAFT_STREAM_ALPN],
          ...(this.options.tls === undefined ? {} : { cert: this.options.tls.cert, key: this.options.tls.key }),
          ...(this.options.tls?.ca === undefined ? {} : { ca: this.options.tls.ca }),
        })
      : connectTcp({ host, port });
    socket.setNoDelay(true);
    this.socket = socket;
    // Written now, sent once connected (or the TLS handshake is done), ahead of the first batch.
    socket.write(RAFT_STREAM_PREAMBLE);
    const reader = new FrameReader(MAX_ACK_FRAME_BYTES, false);
    socket.on('data', (chunk: Buffer) => {
      let payloads: Buffer[];
      try {
        payloads = reader.push(chunk);
      } catch (error) {
        this.options.logger.warn('peer sent a malformed ack; reconnecting', { peer: this.id.toString(16), error: (error as Error).message });
        socket.destroy();
        this.broken(socket);
        return;
      }
      this.lastHeardMs = this.options.clock.nowMs();
      for (const payload of payloads) {
        if (this.socket !== socket) return;
        let refused: string;
        try {
          refused = fromBinary(BatchAckSchema, payload).refused;
        } catch (error) {
          this.options.logger.warn('peer sent an undecodable ack; reconnecting', { peer: this.id.toString(16), error: (error as Error).message });
          socket.destroy();
          this.broken(socket);
          return;
        }
        this.acknowledged(refused);
      }
    });
    const broken = (): void => this.broken(socket);
    socket.on('error', broken);
    socket.on('close', broken);
    return socket;
  }

  private acknowledged(refused: string): void {
    this.backoffMs = RECONNECT_MIN_MS;
    this.reportedUnreachable = false;
    const sent = this.awaitingAck.shift();
    if (sent !== undefined) this.options.onRoundTrip?.(this.id, (performance.now() - sent.writtenAtMs) / 1000);
    const failed = refused !== '';
    if (failed) this.options.logger.warn('peer refused our messages', { peer: this.id.toString(16), reason: refused });
    if (refused === 'removed') this.options.events.removed();
    for (const to of sent?.snapshots ?? []) this.options.events.snapshotStatus(to, failed);
  }

  private broken(socket: Socket): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    socket.destroy();
    for (const { snapshots } of this.awaitingAck.splice(0)) for (const to of snapshots) this.options.events.snapshotStatus(to, true);
    this.reconnectAtMs = this.options.clock.nowMs() + this.backoffMs;
    this.backoffMs = Math.min(RECONNECT_MAX_MS, this.backoffMs * 2);
    this.reportUnreachable();
  }

  private drop(messages: readonly Message[]): void {
    for (const m of messages) if (m.type === 'snap') this.options.events.snapshotStatus(m.to, true);
    this.reportUnreachable();
  }

  private reportUnreachable(): void {
    if (this.closed || this.reportedUnreachable) return;
    this.reportedUnreachable = true;
    this.options.events.unreachable(this.id);
  }
}
