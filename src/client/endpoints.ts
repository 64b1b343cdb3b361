/**
 * The endpoint pool: one channel per configured endpoint (an HTTP/2 connection, a grpc-js
 * channel, or an embedded member), a current endpoint that calls go to, and failover to the next endpoint when the
 * current one fails at the transport level or reports itself unusable (a gRPC channel in
 * TRANSIENT_FAILURE). Channel keep-alive pings detect dead connections.
 */
import * as grpc from '@grpc/grpc-js';
import { InvalidOptionError } from '../base/index.js';
import { EmbeddedChannel, GrpcChannel } from './channel.js';
import type { Channel, EmbeddedMember } from './channel.js';
import { H2Channel } from './h2/channel.js';
import { tlsCredentials } from './tls.js';
import type { TlsMaterial } from './tls.js';

/**
 * Which code carries unary calls to network endpoints: `http2`, our lean client on node:http2
 * (streams still use grpc-js), or `grpc-js` for everything. Caller-built `credentials` always
 * use grpc-js (they cannot be turned into TLS options).
 */
export type NetworkTransport = 'http2' | 'grpc-js';

export interface EndpointPoolOptions {
  /** `host:port` or `http://host:port`. */
  readonly endpoints: readonly string[];
  /** In-process members (instead of, or besides, network endpoints). */
  readonly embedded?: readonly EmbeddedMember[];
  /** Caller-built grpc-js channel credentials (implies the grpc-js transport). */
  readonly credentials?: grpc.ChannelCredentials;
  /** TLS material (the SDK's `tls` option); with neither this nor `credentials`, cleartext. */
  readonly tls?: TlsMaterial;
  /** Default `http2`. */
  readonly transport?: NetworkTransport;
  /** Interval between HTTP/2 keep-alive pings; etcd rejects pings more often than every 5 s. */
  readonly keepAliveIntervalMs: number;
  /** How long a ping may go unanswered before the connection is considered dead. */
  readonly keepAliveTimeoutMs: number;
  /** Largest message we accept, in bytes. */
  readonly maxReceiveMessageBytes: number;
}

/** A channel and its position in the pool, so that failures can be attributed. */
export interface PickedEndpoint {
  readonly index: number;
  readonly address: string;
  readonly channel: Channel;
}

/** Accepts `host:port`, `http://host:port` and `https://host:port` and returns `host:port`. */
export function normalizeEndpoint(endpoint: string): string {
  const trimmed = endpoint.trim();
  const withoutScheme = trimmed.replace(/^(https?|grpcs?|unix):\/\//, '');
  if (!/^[^\s/]+:\d{1,5}$/.test(withoutScheme)) {
    throw new InvalidOptionError('endpoints', `expected host:port, got ${JSON.stringify(endpoint)}`);
  }
  return withoutScheme;
}

export class EndpointPool {
  private readonly endpoints: PickedEndpoint[];
  private current = 0;
  private closed = false;

  constructor(options: EndpointPoolOptions) {
    const embedded = options.embedded ?? [];
    if (options.endpoints.length + embedded.length === 0) throw new InvalidOptionError('endpoints', 'at least one endpoint is required');
    if (options.credentials !== undefined && options.tls !== undefined) throw new InvalidOptionError('tls', 'give tls or credentials, not both');
    const transport = options.transport ?? 'http2';
    if (transport !== 'http2' && transport !== 'grpc-js') throw new InvalidOptionError('transport', 'must be "http2" or "grpc-js"');
    const tls = options.tls;
    const credentials = options.credentials ?? (tls === undefined ? grpc.credentials.createInsecure() : tlsCredentials(tls));
    const lean = transport === 'http2' && options.credentials === undefined;
    const channelOptions: grpc.ChannelOptions = {
      'grpc.keepalive_time_ms': options.keepAliveIntervalMs,
      'grpc.keepalive_timeout_ms': options.keepAliveTimeoutMs,
      // Ping only while calls or streams are open: etcd's server (PermitWithoutStream false)
      // answers pings on an idle connection with GOAWAY too_many_pings.
      'grpc.keepalive_permit_without_calls': 0,
      'grpc.max_receive_message_length': options.maxReceiveMessageBytes,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 2_000,
    };
    const channels: Channel[] = [
      ...embedded.map((member) => new EmbeddedChannel(member)),
      ...options.endpoints.map((endpoint): Channel => lean
        ? new H2Channel(normalizeEndpoint(endpoint), {
          tls, keepAliveIntervalMs: options.keepAliveIntervalMs, keepAliveTimeoutMs: options.keepAliveTimeoutMs,
          maxReceiveMessageBytes: options.maxReceiveMessageBytes, streamCredentials: credentials, streamOptions: channelOptions,
        })
        : new GrpcChannel(normalizeEndpoint(endpoint), credentials, channelOptions)),
    ];
    this.endpoints = channels.map((channel, index) => ({ index, address: channel.address, channel }));
  }

  get size(): number {
    return this.endpoints.length;
  }

  /** The addresses, in configuration order. */
  addresses(): string[] {
    return this.endpoints.map((endpoint) => endpoint.address);
  }

  /**
   * The endpoint the next call should use: the current one unless it reports itself unusable
   * and another one does not.
   */
  pick(): PickedEndpoint {
    const count = this.endpoints.length;
    for (let step = 0; step < count; step += 1) {
      const candidate = this.endpoints[(this.current + step) % count]!;
      if (candidate.channel.usable()) {
        this.current = candidate.index;
        return candidate;
      }
    }
    return this.endpoints[this.current]!;
  }

  /** The endpoint at `index` (configuration order, embedded members first). */
  at(index: number): PickedEndpoint {
    const endpoint = this.endpoints[index];
    if (endpoint === undefined) throw new InvalidOptionError('endpointIndex', `no endpoint ${index}`);
    return endpoint;
  }

  /** Records that `index` failed at the transport level: later calls move to the next endpoint. */
  markFailed(index: number): void {
    if (index === this.current) this.current = (index + 1) % this.endpoints.length;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const endpoint of this.endpoints) endpoint.channel.close();
  }
}
