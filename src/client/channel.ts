/**
 * A Channel carries calls to one member. Two kinds: `GrpcChannel` (a gRPC connection, with
 * binary serialization) and `EmbeddedChannel` (a member in this process, called with message
 * objects directly: no network, no serialization). The transport, watch hub and keep-alive hub
 * see only this interface.
 */
import * as grpc from '@grpc/grpc-js';
import type { DescMessage, DescMethod, DescMethodBiDiStreaming, DescMethodServerStreaming, DescMethodUnary, MessageShape } from '@bufbuild/protobuf';
import { codecFor, methodPath } from './grpc-adapter.js';

/** The subset of a gRPC client stream the hubs use. grpc-js streams satisfy it as they are. */
export interface StreamLike<I, O> {
  write(message: I): unknown;
  end(): void;
  cancel(): void;
  on(event: 'data', listener: (message: O) => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
}

/** A server stream: only read and cancelled. */
export type ReadableLike<O> = Omit<StreamLike<never, O>, 'write' | 'end'>;

export type Metadata = Readonly<Record<string, string>>;

export interface Channel {
  /** What logs and errors call this member (`host:port`, or the embedded member's name). */
  readonly address: string;
  unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>, request: MessageShape<I>, metadata: Metadata,
    callback: (error: unknown, response: MessageShape<O> | undefined) => void,
  ): { cancel(): void };
  bidi<I extends DescMessage, O extends DescMessage>(method: DescMethodBiDiStreaming<I, O>, metadata: Metadata): StreamLike<MessageShape<I>, MessageShape<O>>;
  serverStream<I extends DescMessage, O extends DescMessage>(method: DescMethodServerStreaming<I, O>, request: MessageShape<I>, metadata: Metadata): ReadableLike<MessageShape<O>>;
  /** False while the channel knows its member is unreachable (calls should go elsewhere). */
  usable(): boolean;
  close(): void;
}

function toGrpcMetadata(entries: Metadata): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(entries)) metadata.set(key, value);
  return metadata;
}

/**
 * Per-call grpc-js metadata from a record that is usually the same object on every call (the
 * client's): converted once per record, then cloned (grpc-js may add to a call's metadata).
 */
const convertedMetadata = new WeakMap<Metadata, grpc.Metadata>();
function callMetadata(entries: Metadata): grpc.Metadata {
  let metadata = convertedMetadata.get(entries);
  if (metadata === undefined) {
    metadata = toGrpcMetadata(entries);
    convertedMetadata.set(entries, metadata);
  }
  return metadata.clone();
}

const noCallOptions: grpc.CallOptions = Object.freeze({});

export class GrpcChannel implements Channel {
  private readonly client: grpc.Client;

  constructor(readonly address: string, credentials: grpc.ChannelCredentials, options: grpc.ChannelOptions) {
    this.client = new grpc.Client(address, credentials, options);
  }

  unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>, request: MessageShape<I>, metadata: Metadata,
    callback: (error: unknown, response: MessageShape<O> | undefined) => void,
  ): { cancel(): void } {
    const codec = codecFor(method);
    // grpc-js reports success with a null error; the transport treats null like undefined.
    return this.client.makeUnaryRequest(codec.path, codec.serialize, codec.deserialize, request, callMetadata(metadata), noCallOptions,
      callback as grpc.requestCallback<MessageShape<O>>);
  }

  bidi<I extends DescMessage, O extends DescMessage>(method: DescMethodBiDiStreaming<I, O>, metadata: Metadata): StreamLike<MessageShape<I>, MessageShape<O>> {
    const codec = codecFor(method);
    return this.client.makeBidiStreamRequest(codec.path, codec.serialize, codec.deserialize, toGrpcMetadata(metadata), {});
  }

  serverStream<I extends DescMessage, O extends DescMessage>(method: DescMethodServerStreaming<I, O>, request: MessageShape<I>, metadata: Metadata): ReadableLike<MessageShape<O>> {
    const codec = codecFor(method);
    return this.client.makeServerStreamRequest(codec.path, codec.serialize, codec.deserialize, request, toGrpcMetadata(metadata), {});
  }

  usable(): boolean {
    const state = this.client.getChannel().getConnectivityState(true);
    return state !== grpc.connectivityState.TRANSIENT_FAILURE && state !== grpc.connectivityState.SHUTDOWN;
  }

  close(): void {
    this.client.close();
  }
}

/**
 * What an embedded (in-process) member offers the client. The server implements this narrow
 * interface; the client never imports the server. Paths are gRPC method paths
 * (`/etcdserverpb.KV/Range`); messages are the generated message objects of src/gen.
 * Failures reject (or are emitted) as `{ code, details }` with etcd's gRPC code and exact
 * message, exactly as the network server would send them.
 */
export interface EmbeddedMember {
  readonly name: string;
  unary(path: string, request: unknown, metadata: Metadata, signal: AbortSignal): Promise<unknown>;
  /**
   * Optional, preferred when present: the same call with a completion callback and a cancel
   * handle instead of a promise and a signal, so a call costs no AbortController and no promise
   * chain. `callback` is called at most once; after `cancel()` it is not called at all.
   */
  call?(path: string, request: unknown, metadata: Metadata, callback: (error: unknown, response: unknown) => void): { cancel(): void };
  /** Opens a stream; for server-streaming methods `request` is the single request. */
  stream(path: string, metadata: Metadata, request?: unknown): StreamLike<unknown, unknown>;
  /** False while the member cannot serve (stopped, or cut off from its cluster). */
  usable?(): boolean;
}

const paths = new WeakMap<object, string>();
/** The method's gRPC path, computed once per descriptor. */
function pathOf(method: Pick<DescMethod, 'parent' | 'name'>): string {
  let path = paths.get(method);
  if (path === undefined) {
    path = methodPath(method);
    paths.set(method, path);
  }
  return path;
}

export class EmbeddedChannel implements Channel {
  constructor(private readonly member: EmbeddedMember) {}

  get address(): string {
    return this.member.name;
  }

  unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>, request: MessageShape<I>, metadata: Metadata,
    callback: (error: unknown, response: MessageShape<O> | undefined) => void,
  ): { cancel(): void } {
    const path = pathOf(method);
    if (this.member.call !== undefined) {
      // The callback form: the member's handler answers straight into the transport's call.
      // The transport settles a call itself when it cancels it, so no callback follows cancel().
      try {
        return this.member.call(path, request, metadata, callback as (error: unknown, response: unknown) => void);
      } catch (error) {
        // e.g. an unknown method: reported like any failed call (mapped by the transport).
        callback(error ?? new Error('embedded call failed'), undefined);
        return { cancel: () => {} };
      }
    }
    const controller = new AbortController();
    let done = false;
    const finish = (error: unknown, response: MessageShape<O> | undefined): void => {
      if (done) return;
      done = true;
      callback(error, response);
    };
    this.member.unary(path, request, metadata, controller.signal).then(
      (response) => finish(undefined, response as MessageShape<O>),
      (error: unknown) => finish(error ?? new Error('embedded call failed'), undefined),
    );
    return {
      cancel: () => {
        controller.abort();
        finish({ code: grpc.status.CANCELLED, details: 'Cancelled on client' }, undefined);
      },
    };
  }

  bidi<I extends DescMessage, O extends DescMessage>(method: DescMethodBiDiStreaming<I, O>, metadata: Metadata): StreamLike<MessageShape<I>, MessageShape<O>> {
    return this.member.stream(pathOf(method), metadata) as StreamLike<MessageShape<I>, MessageShape<O>>;
  }

  serverStream<I extends DescMessage, O extends DescMessage>(method: DescMethodServerStreaming<I, O>, request: MessageShape<I>, metadata: Metadata): ReadableLike<MessageShape<O>> {
    return this.member.stream(pathOf(method), metadata, request) as ReadableLike<MessageShape<O>>;
  }

  usable(): boolean {
    return this.member.usable?.() ?? true;
  }

  close(): void {
    // The member belongs to whoever embedded it; closing the client does not stop it.
  }
}
