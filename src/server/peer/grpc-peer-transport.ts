import { Server, makeGenericClientConstructor, status } from '@grpc/grpc-js';
import type { ChannelCredentials, Client, ClientDuplexStream, ServerDuplexStream, ServiceError, ServiceDefinition } from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import type { DescMessage } from '@bufbuild/protobuf';
import type { Clock } from '../../base/clock.js';
import type { Logger } from '../../base/logger.js';
import type { Message, NodeId } from '../../raft/index.js';
import type { BatchAck, MessageBatch } from '../../gen/conclave/peer_pb.js';
import { BatchAckSchema, Peer } from '../../gen/conclave/peer_pb.js';
import { serviceDefinition } from '../api/service-definition.js';
import type { PeerEvents, PeerTransport } from '../transport.js';
import { decodeMessage, encodeBatch } from './codec.js';
import { channelCredentialsFor, serverCredentialsFor } from '../tls.js';
import type { TlsMaterial } from '../tls.js';

/** Most messages queued for one peer; beyond it new messages are dropped (raft retries). */
export const MAX_QUEUED_MESSAGES_PER_PEER = 8192;
/** Largest peer message (a snapshot travels in one); matches the snapshot file limit. */
export const MAX_PEER_MESSAGE_BYTES = 1024 * 1024 * 1024;
const RECONNECT_MIN_MS = 50;
const RECONNECT_MAX_MS = 2000;

/** The handlers the peer server calls besides raft traffic (declared by this consumer). */
export interface PeerHandlers {
  clusterId(): bigint;
  isRemoved(id: bigint): boolean;
  /** Other peer RPCs (lease forwarding, cluster info, promotion), keyed by method local name. */
  readonly unary: Record<string, (request: never) => Promise<unknown>>;
}

export interface GrpcPeerTransportOptions {
  readonly memberId: bigint;
  readonly listenPeerUrls: readonly string[];
  /** Peer TLS: served on https listen URLs, and presented when dialing https peers (undefined: plain only). */
  readonly tls?: TlsMaterial | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly handlers: PeerHandlers;
  readonly events: PeerEvents;
  /** Test-only (MemberOptions.peerMessageFilter): `false` drops traffic from `from` to `to`. */
  readonly filter?: (from: bigint, to: bigint) => boolean;
  /**
   * A batch to `peer` was acknowledged `seconds` after it was written (the peer acknowledges in
   * order, once it has taken the batch): etcd_network_peer_round_trip_time_seconds.
   */
  readonly onRoundTrip?: (peer: NodeId, seconds: number) => void;
}

export function hostPort(url: string): string {
  return new URL(url).host;
}

const channelOptions = {
  'grpc.max_receive_message_length': MAX_PEER_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_PEER_MESSAGE_BYTES,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  // By default grpc-js backs a failing channel off from 1 s up to 120 s, so after the repeated
  // cuts of test/chaos a healed peer link could stay down for minutes. Peers retry quickly
  // instead, as etcd's rafthttp does (every 100 ms); PeerLink adds at most 2 s of its own.
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1_000,
};

type PeerClient = Client & {
  stream(): ClientDuplexStream<MessageBatch, BatchAck>;
} & Record<string, UnaryMethod>;

type UnaryCallback = (error: ServiceError | null, response: unknown) => void;
type UnaryMethod = ((request: unknown, callback: UnaryCallback) => unknown) & ((request: unknown, options: { deadline: number }, callback: UnaryCallback) => unknown);

/**
 * Raft traffic between members over gRPC: one long-lived bidirectional stream per peer,
 * carrying one MessageBatch per flush (everything queued for that peer since the last
 * event-loop turn), acknowledged in order. A broken stream is reopened with exponential
 * back-off; while a peer is unreachable its messages are dropped and raft is told, so it
 * probes instead of pipelining. Snapshots are reported delivered when their batch is
 * acknowledged, failed when the stream breaks first.
 */
export class GrpcPeerTransport implements PeerTransport {
  private readonly server = new Server(channelOptions);
  private readonly peers = new Map<NodeId, PeerLink>();
  private readonly definition: ServiceDefinition;
  private readonly ClientConstructor: new (address: string, creds: ChannelCredentials, options: object) => PeerClient;
  private closed = false;

  constructor(private readonly options: GrpcPeerTransportOptions) {
    this.definition = serviceDefinition(Peer);
    this.ClientConstructor = makeGenericClientConstructor(this.definition, 'Peer') as never;
    this.server.addService(this.definition, {
      stream: (call: ServerDuplexStream<MessageBatch, BatchAck>) => this.serveStream(call),
      ...Object.fromEntries(Object.entries(options.handlers.unary).map(([name, handler]) => [name, (call: { request: never }, callback: (error: unknown, value?: unknown) => void) => {
        handler(call.request).then((value) => callback(null, asMessage(name, 'output', value)), (error: unknown) => callback(toStatus(error)));
      }])),
    });
  }

  /** Binds the peer listeners; resolves with the bound ports. */
  async listen(): Promise<number[]> {
    const ports: number[] = [];
    for (const url of this.options.listenPeerUrls) {
      ports.push(await new Promise<number>((resolve, reject) => {
        this.server.bindAsync(hostPort(url), serverCredentialsFor(url, this.options.tls), (error: Error | null, port: number) => (error ? reject(error) : resolve(port)));
      }));
    }
    return ports;
  }

  private serveStream(call: ServerDuplexStream<MessageBatch, BatchAck>): void {
    const { handlers, events } = this.options;
    call.on('data', (batch: MessageBatch) => {
      if (batch.clusterId !== handlers.clusterId()) {
        call.write(create(BatchAckSchema, { refused: 'cluster-mismatch' }));
        return;
      }
      if (handlers.isRemoved(batch.from)) {
        call.write(create(BatchAckSchema, { refused: 'removed' }));
        return;
      }
      try {
        const messages = batch.messages.map(decodeMessage).filter((m) => m.to === this.options.memberId && this.passes(m.from, m.to));
        if (messages.length > 0) events.receive(messages);
        call.write(create(BatchAckSchema, {}));
      } catch (error) {
        this.options.logger.warn('dropping a malformed peer batch', { from: batch.from.toString(16), error: (error as Error).message });
        call.write(create(BatchAckSchema, { refused: 'malformed' }));
      }
    });
    call.on('error', () => undefined);
    call.on('end', () => call.end());
  }

  /** The test-only filter's verdict (always true without one). */
  private passes(from: bigint, to: bigint): boolean {
    return this.options.filter === undefined || this.options.filter(from, to);
  }

  send(messages: readonly Message[]): void {
    if (this.closed) return;
    for (const m of messages) {
      // A filtered message is lost as on a cut network: raft retries, and snapshots fail.
      if (!this.passes(this.options.memberId, m.to)) {
        if (m.type === 'snap') this.options.events.snapshotStatus(m.to, true);
        continue;
      }
      const link = this.peers.get(m.to);
      if (link === undefined) {
        if (m.type === 'snap') this.options.events.snapshotStatus(m.to, true);
        continue;
      }
      link.enqueue(m);
    }
  }

  setPeers(peers: ReadonlyMap<NodeId, readonly string[]>): void {
    if (this.closed) return;
    for (const [id, link] of this.peers) {
      if (!peers.has(id)) {
        link.close();
        this.peers.delete(id);
      }
    }
    for (const [id, urls] of peers) {
      const existing = this.peers.get(id);
      if (existing !== undefined && existing.url === urls[0]) continue;
      existing?.close();
      if (urls[0] === undefined) continue;
      this.peers.set(id, new PeerLink(id, urls[0], this.options, this.ClientConstructor));
    }
  }

  probe(): void {
    if (this.closed) return;
    for (const [id, link] of this.peers) if (this.passes(this.options.memberId, id)) link.probe();
  }

  /** Calls a unary peer RPC on `id` (lease forwarding, promotion, cluster info). */
  call<T>(id: NodeId, method: string, request: unknown, timeoutMs: number): Promise<T> {
    const link = this.peers.get(id);
    if (link === undefined) return Promise.reject(new Error(`no peer ${id.toString(16)}`));
    if (!this.passes(this.options.memberId, id) || !this.passes(id, this.options.memberId)) {
      return Promise.reject(Object.assign(new Error(`peer ${id.toString(16)} unreachable (filtered)`), { code: status.UNAVAILABLE }));
    }
    return link.unary<T>(method, request, timeoutMs);
  }

  /** Calls a unary peer RPC on a URL (joining a cluster, before the peer's id is known); `tls` is this member's peer TLS, used when `url` is https. */
  static callUrl<T>(url: string, method: string, request: unknown, timeoutMs: number, tls?: TlsMaterial): Promise<T> {
    const Constructor = makeGenericClientConstructor(serviceDefinition(Peer), 'Peer') as never as new (a: string, c: unknown, o: object) => PeerClient;
    const client = new Constructor(hostPort(url), channelCredentialsFor(url, tls), channelOptions);
    return new Promise<T>((resolve, reject) => {
      client[method]!(asMessage(method, 'input', request), { deadline: Date.now() + timeoutMs }, (error: ServiceError | null, response: unknown) => {
        client.close();
        if (error) reject(error);
        else resolve(response as T);
      });
    }).finally(() => client.close());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const link of this.peers.values()) link.close();
    this.peers.clear();
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
  }
}

/** Handlers and callers use plain objects; the codecs need protobuf-es messages. */
function asMessage(methodName: string, side: 'input' | 'output', value: unknown): unknown {
  const method = Peer.methods.find((m) => m.localName === methodName);
  if (method === undefined) throw new Error(`no peer method ${methodName}`);
  return create(method[side] as DescMessage, value as never);
}

function toStatus(error: unknown): Partial<ServiceError> {
  const e = error as { grpcCode?: number; grpcMessage?: string; message?: string };
  return { code: e.grpcCode ?? status.UNKNOWN, details: e.grpcMessage ?? e.message ?? String(error) };
}

/** The outgoing half toward one peer: a queue, one stream, acks, back-off. */
class PeerLink {
  private readonly client: PeerClient;
  private stream: ClientDuplexStream<MessageBatch, BatchAck> | undefined;
  private queue: Message[] = [];
  private flushScheduled = false;
  /** Per batch written and not yet acknowledged: the snapshot targets it carried, and when it was written. */
  private readonly awaitingAck: Array<{ readonly snapshots: NodeId[]; readonly writtenAtMs: number }> = [];
  private backoffMs = RECONNECT_MIN_MS;
  private reconnectAtMs = 0;
  private closed = false;
  private reportedUnreachable = false;

  constructor(
    readonly id: NodeId,
    readonly url: string,
    private readonly options: GrpcPeerTransportOptions,
    Constructor: new (address: string, creds: ChannelCredentials, options: object) => PeerClient,
  ) {
    this.client = new Constructor(hostPort(url), channelCredentialsFor(url, options.tls), channelOptions);
  }

  enqueue(m: Message): void {
    if (this.queue.length >= MAX_QUEUED_MESSAGES_PER_PEER) {
      this.drop([m]);
      return;
    }
    this.queue.push(m);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed || this.queue.length === 0) return;
    const messages = this.queue;
    this.queue = [];
    const stream = this.openStream();
    if (stream === undefined) {
      this.drop(messages);
      return;
    }
    const batch = encodeBatch(this.options.handlers.clusterId(), this.options.memberId, messages);
    this.awaitingAck.push({ snapshots: messages.filter((m) => m.type === 'snap').map((m) => m.to), writtenAtMs: performance.now() });
    stream.write(batch);
  }

  /** Writes an empty batch: its ack says whether the peer refuses us. */
  probe(): void {
    if (this.closed) return;
    const stream = this.openStream();
    if (stream === undefined) return;
    this.awaitingAck.push({ snapshots: [], writtenAtMs: performance.now() });
    stream.write(encodeBatch(this.options.handlers.clusterId(), this.options.memberId, []));
  }

  private openStream(): ClientDuplexStream<MessageBatch, BatchAck> | undefined {
    if (this.stream !== undefined) return this.stream;
    if (this.options.clock.nowMs() < this.reconnectAtMs) return undefined;
    const stream = this.client.stream();
    this.stream = stream;
    stream.on('data', (ack: BatchAck) => {
      this.backoffMs = RECONNECT_MIN_MS;
      this.reportedUnreachable = false;
      const sent = this.awaitingAck.shift();
      const snapshots = sent?.snapshots ?? [];
      if (sent !== undefined) this.options.onRoundTrip?.(this.id, (performance.now() - sent.writtenAtMs) / 1000);
      const failed = ack.refused !== '';
      if (failed) this.options.logger.warn('peer refused our messages', { peer: this.id.toString(16), reason: ack.refused });
      if (ack.refused === 'removed') this.options.events.removed();
      for (const to of snapshots) this.options.events.snapshotStatus(to, failed);
    });
    const broken = (): void => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      for (const { snapshots } of this.awaitingAck.splice(0)) for (const to of snapshots) this.options.events.snapshotStatus(to, true);
      this.reconnectAtMs = this.options.clock.nowMs() + this.backoffMs;
      this.backoffMs = Math.min(RECONNECT_MAX_MS, this.backoffMs * 2);
      this.reportUnreachable();
    };
    stream.on('error', broken);
    stream.on('end', broken);
    stream.on('close', broken);
    return stream;
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

  unary<T>(method: string, request: unknown, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const fn = this.client[method];
      if (fn === undefined) {
        reject(new Error(`no peer method ${method}`));
        return;
      }
      fn.call(this.client, asMessage(method, 'input', request), { deadline: Date.now() + timeoutMs }, (error: ServiceError | null, response: unknown) => (error ? reject(error) : resolve(response as T)));
    });
  }

  close(): void {
    this.closed = true;
    this.stream?.end();
    this.stream = undefined;
    this.client.close();
  }
}
