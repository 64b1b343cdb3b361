import type { Socket } from 'node:net';
import { Server, ServerCredentials, makeGenericClientConstructor, status } from '@grpc/grpc-js';
import type { ChannelCredentials, Client, ServerDuplexStream, ServiceError, ServiceDefinition } from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import type { DescMessage } from '@bufbuild/protobuf';
import type { Clock } from '../../base/clock.js';
import type { Logger } from '../../base/logger.js';
import type { Message, NodeId } from '../../raft/index.js';
import type { BatchAck, MessageBatch } from '../../gen/conclave/peer_pb.js';
import { Peer } from '../../gen/conclave/peer_pb.js';
import { serviceDefinition } from '../api/service-definition.js';
import { listenRouted } from '../http/shared-listener.js';
import type { SharedListener } from '../http/shared-listener.js';
import type { PeerEvents, PeerTransport } from '../transport.js';
import { channelCredentialsFor, tlsSettingsFor } from '../tls.js';
import type { TlsMaterial } from '../tls.js';
import { takeBatch } from './batch-intake.js';
import type { IntakeChecks } from './batch-intake.js';
import { RAFT_STREAM_ALPN } from './frames.js';
import { PeerLink } from './peer-link.js';
import { acceptRaftStream } from './raft-stream-acceptor.js';

export { MAX_QUEUED_MESSAGES_PER_PEER } from './peer-link.js';
/** Largest peer message (a snapshot travels in one); matches the snapshot file limit. */
export const MAX_PEER_MESSAGE_BYTES = 1024 * 1024 * 1024;

/** The handlers the peer server calls besides raft traffic (declared by this consumer). */
export interface PeerHandlers {
  clusterId(): bigint;
  isRemoved(id: bigint): boolean;
  /** Other peer RPCs (lease forwarding, cluster info, promotion), keyed by method local name. */
  readonly unary: Record<string, (request: never) => Promise<unknown>>;
}

export interface NetworkPeerTransportOptions {
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
  // The gRPC Stream method still carries batches (snapshots included) for older callers.
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

type PeerClient = Client & Record<string, UnaryMethod>;

type UnaryCallback = (error: ServiceError | null, response: unknown) => void;
type UnaryMethod = ((request: unknown, callback: UnaryCallback) => unknown) & ((request: unknown, options: { deadline: number }, callback: UnaryCallback) => unknown);

/**
 * A member's peer port and its links to the other members. Raft traffic travels on raft
 * streams (frames.ts): per peer, one long-lived connection this member opens, carrying one
 * MessageBatch per flush and one BatchAck back per batch (peer-link.ts); the peer's traffic to
 * us comes on the connection it opened. Unary peer RPCs (lease forwarding, promotion, cluster
 * info, MemberAdd on the leader) stay gRPC, on the same port: the listener routes each
 * connection by its first bytes (HTTP/2 preface: grpc-js; the raft stream preamble: the raft
 * stream) and, on https URLs, terminates TLS itself first. grpc-js still serves the older
 * `Stream` method, the raft stream over gRPC, with the same checks.
 */
export class NetworkPeerTransport implements PeerTransport {
  private readonly server = new Server(channelOptions);
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly rpcClients = new Map<NodeId, { readonly url: string; readonly client: PeerClient }>();
  private readonly listeners: SharedListener[] = [];
  private readonly definition: ServiceDefinition;
  private readonly ClientConstructor: new (address: string, creds: ChannelCredentials, options: object) => PeerClient;
  private readonly checks: IntakeChecks;
  /** Links with messages queued by the send() in progress. */
  private readonly touched = new Set<PeerLink>();
  private closed = false;

  constructor(private readonly options: NetworkPeerTransportOptions) {
    this.definition = serviceDefinition(Peer);
    this.ClientConstructor = makeGenericClientConstructor(this.definition, 'Peer') as never;
    this.checks = {
      memberId: options.memberId,
      clusterId: () => options.handlers.clusterId(),
      isRemoved: (id) => options.handlers.isRemoved(id),
      passes: (from, to) => this.passes(from, to),
    };
    this.server.addService(this.definition, {
      stream: (call: ServerDuplexStream<MessageBatch, BatchAck>) => this.serveGrpcStream(call),
      ...Object.fromEntries(Object.entries(options.handlers.unary).map(([name, handler]) => [name, (call: { request: never }, callback: (error: unknown, value?: unknown) => void) => {
        handler(call.request).then((value) => callback(null, asMessage(name, 'output', value)), (error: unknown) => callback(toStatus(error)));
      }])),
    });
  }

  /** Binds the peer listeners; resolves with the bound ports. */
  async listen(): Promise<number[]> {
    const h2 = this.server.createConnectionInjector(ServerCredentials.createInsecure());
    const raftStream = (socket: Socket): void => acceptRaftStream(socket, this.checks, this.options.events, this.options.logger, MAX_PEER_MESSAGE_BYTES);
    const ports: number[] = [];
    for (const url of this.options.listenPeerUrls) {
      const parsed = new URL(url);
      const host = parsed.hostname.replace(/^\[|\]$/g, '');
      const tls = parsed.protocol === 'https:' ? { settings: tlsSettingsFor(url, this.options.tls), chooseProtocol: choosePeerProtocol } : undefined;
      const listener = await listenRouted(host, Number(parsed.port), tls, h2, raftStream);
      this.listeners.push(listener);
      ports.push(listener.port);
    }
    return ports;
  }

  /** The raft stream as a gRPC bidirectional stream (what members used before raft streams). */
  private serveGrpcStream(call: ServerDuplexStream<MessageBatch, BatchAck>): void {
    call.on('data', (batch: MessageBatch) => {
      call.write(takeBatch(batch, this.checks, this.options.events, this.options.logger));
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
      const link = this.links.get(m.to);
      if (link === undefined) {
        if (m.type === 'snap') this.options.events.snapshotStatus(m.to, true);
        continue;
      }
      link.enqueue(m);
      this.touched.add(link);
    }
    // One batch per peer per send: the ready loop hands over a Ready's messages at once.
    for (const link of this.touched) link.flush();
    this.touched.clear();
  }

  setPeers(peers: ReadonlyMap<NodeId, readonly string[]>): void {
    if (this.closed) return;
    for (const [id, link] of this.links) {
      if (!peers.has(id)) {
        link.close();
        this.links.delete(id);
      }
    }
    for (const [id, rpc] of this.rpcClients) {
      if (peers.get(id)?.[0] !== rpc.url) {
        rpc.client.close();
        this.rpcClients.delete(id);
      }
    }
    for (const [id, urls] of peers) {
      const existing = this.links.get(id);
      if (existing !== undefined && existing.url === urls[0]) continue;
      existing?.close();
      this.links.delete(id);
      if (urls[0] === undefined) continue;
      this.links.set(id, new PeerLink(id, urls[0], {
        memberId: this.options.memberId,
        tls: this.options.tls,
        clock: this.options.clock,
        logger: this.options.logger,
        events: this.options.events,
        clusterId: () => this.options.handlers.clusterId(),
        ...(this.options.onRoundTrip === undefined ? {} : { onRoundTrip: this.options.onRoundTrip }),
      }));
    }
  }

  probe(): void {
    if (this.closed) return;
    for (const [id, link] of this.links) if (this.passes(this.options.memberId, id)) link.probe();
  }

  /** Calls a unary peer RPC on `id` (lease forwarding, promotion, cluster info). */
  call<T>(id: NodeId, method: string, request: unknown, timeoutMs: number): Promise<T> {
    const link = this.links.get(id);
    if (link === undefined) return Promise.reject(new Error(`no peer ${id.toString(16)}`));
    if (!this.passes(this.options.memberId, id) || !this.passes(id, this.options.memberId)) {
      return Promise.reject(Object.assign(new Error(`peer ${id.toString(16)} unreachable (filtered)`), { code: status.UNAVAILABLE }));
    }
    let rpc = this.rpcClients.get(id);
    if (rpc === undefined) {
      rpc = { url: link.url, client: new this.ClientConstructor(hostPort(link.url), channelCredentialsFor(link.url, this.options.tls), channelOptions) };
      this.rpcClients.set(id, rpc);
    }
    return unary<T>(rpc.client, method, request, timeoutMs);
  }

  /** Calls a unary peer RPC on a URL (joining a cluster, before the peer's id is known); `tls` is this member's peer TLS, used when `url` is https. */
  static callUrl<T>(url: string, method: string, request: unknown, timeoutMs: number, tls?: TlsMaterial): Promise<T> {
    const Constructor = makeGenericClientConstructor(serviceDefinition(Peer), 'Peer') as never as new (a: string, c: unknown, o: object) => PeerClient;
    const client = new Constructor(hostPort(url), channelCredentialsFor(url, tls), channelOptions);
    return unary<T>(client, method, request, timeoutMs).finally(() => client.close());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const link of this.links.values()) link.close();
    this.links.clear();
    for (const { client } of this.rpcClients.values()) client.close();
    this.rpcClients.clear();
    await Promise.all(this.listeners.splice(0).map((listener) => listener.close()));
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
  }
}

/**
 * The peer port's ALPN answer on https: the raft stream to members that offer it, h2 to gRPC
 * clients (peers' unary RPCs); anything else is refused in the handshake.
 */
export function choosePeerProtocol(offered: readonly string[]): string | undefined {
  if (offered.includes(RAFT_STREAM_ALPN)) return RAFT_STREAM_ALPN;
  if (offered.includes('h2')) return 'h2';
  return undefined;
}

function unary<T>(client: PeerClient, method: string, request: unknown, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const fn = client[method];
    if (fn === undefined) {
      reject(new Error(`no peer method ${method}`));
      return;
    }
    fn.call(client, asMessage(method, 'input', request), { deadline: Date.now() + timeoutMs }, (error: ServiceError | null, response: unknown) => (error ? reject(error) : resolve(response as T)));
  });
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
