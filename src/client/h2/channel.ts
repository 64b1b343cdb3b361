/**
 * `H2Channel`: the lean networked Channel. Unary calls go straight onto a node:http2 session
 * (h2/connection.ts, h2/unary-call.ts): no interceptor chain, resolver, load balancer, retry
 * layers or per-call stack capture, which is where grpc-js spends most of a small call's CPU.
 * Streams (watch, lease keep-alive) still go through a grpc-js client, created on first use,
 * so a member that serves both has two connections from this channel.
 */
import type * as grpc from '@grpc/grpc-js';
import type { OutgoingHttpHeaders } from 'node:http2';
import type { DescMessage, DescMethodBiDiStreaming, DescMethodServerStreaming, DescMethodUnary, MessageShape } from '@bufbuild/protobuf';
import { GrpcChannel } from '../channel.js';
import type { Channel, Metadata, ReadableLike, StreamLike } from '../channel.js';
import { codecFor } from '../grpc-adapter.js';
import { H2Connection } from './connection.js';
import type { TlsMaterial } from '../tls.js';
import { frameMessage } from './framing.js';
import { H2UnaryCall } from './unary-call.js';

export interface H2ChannelOptions {
  /** TLS material for the unary connection; cleartext when omitted. */
  readonly tls: TlsMaterial | undefined;
  readonly keepAliveIntervalMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxReceiveMessageBytes: number;
  /** What the grpc-js client for streams is built with (the same TLS material as credentials). */
  readonly streamCredentials: grpc.ChannelCredentials;
  readonly streamOptions: grpc.ChannelOptions;
  /** See ConnectionOptions (tests lower it). */
  readonly maxStreamsPerSession?: number;
}

const USER_AGENT = 'conclave-h2/1';

export class H2Channel implements Channel {
  private readonly connection: H2Connection;
  private streams: GrpcChannel | undefined;
  /** Request headers per metadata record (usually the client's one record) and method path. */
  private readonly headerCache = new WeakMap<Metadata, Map<string, OutgoingHttpHeaders>>();

  constructor(readonly address: string, private readonly options: H2ChannelOptions) {
    this.connection = new H2Connection({
      address, tls: options.tls, keepAliveIntervalMs: options.keepAliveIntervalMs, keepAliveTimeoutMs: options.keepAliveTimeoutMs,
      ...(options.maxStreamsPerSession === undefined ? {} : { maxStreamsPerSession: options.maxStreamsPerSession }),
    });
  }

  unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>, request: MessageShape<I>, metadata: Metadata,
    callback: (error: unknown, response: MessageShape<O> | undefined) => void,
  ): { cancel(): void } {
    const codec = codecFor(method);
    const call = new H2UnaryCall(this.connection, this.headersFor(codec.path, metadata), frameMessage(codec.serialize(request)),
      this.options.maxReceiveMessageBytes, codec.deserialize, callback);
    call.start();
    return call;
  }

  bidi<I extends DescMessage, O extends DescMessage>(method: DescMethodBiDiStreaming<I, O>, metadata: Metadata): StreamLike<MessageShape<I>, MessageShape<O>> {
    return this.streamChannel().bidi(method, metadata);
  }

  serverStream<I extends DescMessage, O extends DescMessage>(method: DescMethodServerStreaming<I, O>, request: MessageShape<I>, metadata: Metadata): ReadableLike<MessageShape<O>> {
    return this.streamChannel().serverStream(method, request, metadata);
  }

  usable(): boolean {
    return this.connection.usable();
  }

  close(): void {
    this.connection.close();
    this.streams?.close();
  }

  private streamChannel(): GrpcChannel {
    this.streams ??= new GrpcChannel(this.address, this.options.streamCredentials, this.options.streamOptions);
    return this.streams;
  }

  /** Node copies the headers object on every request, so one object per path can be reused. */
  private headersFor(path: string, metadata: Metadata): OutgoingHttpHeaders {
    let byPath = this.headerCache.get(metadata);
    if (byPath === undefined) {
      byPath = new Map();
      this.headerCache.set(metadata, byPath);
    }
    let headers = byPath.get(path);
    if (headers === undefined) {
      headers = Object.freeze({
        ...metadata,
        ':method': 'POST',
        ':path': path,
        'content-type': 'application/grpc',
        te: 'trailers',
        'user-agent': USER_AGENT,
        'grpc-accept-encoding': 'identity',
      });
      byPath.set(path, headers);
    }
    return headers;
  }
}
