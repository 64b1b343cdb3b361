/**
 * One dispatch primitive for unary calls: pick an endpoint, send, map errors to EtcdError,
 * honour the caller's AbortSignal and timeout, and repeat with back-off (p-retry) only when
 * the call is idempotent and the error transient (see unary-call.ts for what one call costs).
 * Streams are opened here too, so that every call goes through the same endpoint selection and
 * failure accounting.
 */
import type { DescMessage, MessageShape } from '@bufbuild/protobuf';
import type { DescMethodBiDiStreaming, DescMethodServerStreaming, DescMethodUnary } from '@bufbuild/protobuf';
import type { Clock } from '../base/index.js';
import type { Metadata, ReadableLike, StreamLike } from './channel.js';
import { DeadlineQueue } from './deadlines.js';
import type { EndpointPool, PickedEndpoint } from './endpoints.js';
import { ClientClosedError } from './errors.js';
import { UnaryCall } from './unary-call.js';
import type { CallContext } from './unary-call.js';
import type { AuthSession } from './auth-session.js';

/** Per-call options accepted by every client method. */
export interface CallOptions {
  /** Aborts the call; the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Overall limit for the call including retries; defaults to the client's `callTimeoutMs`. */
  readonly timeoutMs?: number;
}

/** Internal: send to this endpoint (by pool index) instead of the current one; no failover. */
export interface RoutedCallOptions extends CallOptions {
  readonly endpointIndex?: number;
}

export interface RetryPolicy {
  /** Extra attempts after the first; 0 disables retries. */
  readonly retries: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
}

export interface TransportOptions {
  readonly pool: EndpointPool;
  readonly clock: Clock;
  readonly callTimeoutMs: number;
  readonly retry: RetryPolicy;
  /** Aborts when the client is destroyed or closed: every call in flight ends with its reason. */
  readonly lifetime: AbortSignal;
  /** Metadata sent with every unary call, built once per client. */
  readonly metadata?: Metadata;
  /** Logged-in calls: the token goes in the `token` metadata (see auth-session.ts). */
  readonly auth?: AuthSession;
}

const noMetadata: Metadata = Object.freeze({});

export class Transport {
  private readonly context: CallContext;

  constructor(private readonly options: TransportOptions) {
    this.context = {
      pool: options.pool, clock: options.clock, retry: options.retry, defaultTimeoutMs: options.callTimeoutMs,
      deadlines: new DeadlineQueue(options.clock), metadata: options.metadata ?? noMetadata, calls: new Set(),
      auth: options.auth, tokenMetadata: undefined,
    };
    // One listener for every call of the client (a listener per call would trip Node's
    // MaxListenersExceededWarning at 11 calls in flight).
    options.lifetime.addEventListener('abort', () => {
      for (const call of [...this.context.calls]) call.abort(options.lifetime.reason);
      this.context.deadlines.close();
    }, { once: true });
  }

  get pool(): EndpointPool {
    return this.options.pool;
  }

  /**
   * Runs a unary call. `idempotent` decides whether a transient failure may be retried: true
   * for reads and for writes whose repetition cannot change the outcome.
   */
  unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    request: MessageShape<I>,
    idempotent: boolean,
    callOptions?: RoutedCallOptions,
  ): Promise<MessageShape<O>> {
    const lifetime = this.options.lifetime;
    if (lifetime.aborted) return Promise.reject(lifetime.reason);
    const signal = callOptions?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const timeoutMs = callOptions?.timeoutMs ?? this.options.callTimeoutMs;
    const endpointIndex = callOptions?.endpointIndex;
    return new Promise((resolve, reject) => {
      new UnaryCall(this.context, method, request, idempotent, timeoutMs, signal, endpointIndex, resolve, reject).start();
    });
  }

  /** Resolves once every unary call in flight now has settled. */
  async drain(): Promise<void> {
    await Promise.all([...this.context.calls].map((call) => call.settled()));
  }

  /** Opens a bidirectional stream on the current endpoint. */
  bidi<I extends DescMessage, O extends DescMessage>(
    method: DescMethodBiDiStreaming<I, O>,
    metadata: Record<string, string> = {},
  ): { stream: StreamLike<MessageShape<I>, MessageShape<O>>; endpoint: PickedEndpoint } {
    if (this.options.lifetime.aborted) throw new ClientClosedError(this.options.lifetime.reason);
    const endpoint = this.options.pool.pick();
    return { stream: endpoint.channel.bidi(method, this.withToken(metadata)), endpoint };
  }

  /** Opens a server stream on the current endpoint. */
  serverStream<I extends DescMessage, O extends DescMessage>(
    method: DescMethodServerStreaming<I, O>,
    request: MessageShape<I>,
  ): { stream: ReadableLike<MessageShape<O>>; endpoint: PickedEndpoint } {
    if (this.options.lifetime.aborted) throw new ClientClosedError(this.options.lifetime.reason);
    const endpoint = this.options.pool.pick();
    return { stream: endpoint.channel.serverStream(method, request, this.withToken({})), endpoint };
  }

  /** Stream metadata with the token held now (streams open synchronously; see Client.watch). */
  private withToken(metadata: Record<string, string>): Record<string, string> {
    const token = this.options.auth?.current;
    return token === undefined ? metadata : { ...metadata, token };
  }
}
