/**
 * One dispatch primitive for unary calls: pick an endpoint, send, map errors to EtcdError,
 * honour the caller's AbortSignal and timeout, and repeat with back-off (p-retry) only when
 * the call is idempotent and the error transient. Streams are opened here too, so that every
 * call goes through the same endpoint selection and failure accounting.
 */
import pRetry from 'p-retry';
import type { DescMessage, MessageShape } from '@bufbuild/protobuf';
import type { DescMethodBiDiStreaming, DescMethodServerStreaming, DescMethodUnary } from '@bufbuild/protobuf';
import { linkSignals, throwIfAborted } from '../base/index.js';
import type { Clock } from '../base/index.js';
import type { ReadableLike, StreamLike } from './channel.js';
import type { EndpointPool, PickedEndpoint } from './endpoints.js';
import { CallTimeoutError, ClientClosedError, EtcdError, fromGrpcError, isEndpointFailure } from './errors.js';
import type { AuthSession } from './auth-session.js';
import { needsFreshToken } from './auth-session.js';

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
  /** Logged-in calls: the token goes in the `token` metadata (see auth-session.ts). */
  readonly auth?: AuthSession;
}

const AUTHENTICATE_PATH = 'Authenticate';

export class Transport {
  constructor(private readonly options: TransportOptions) {}

  get pool(): EndpointPool {
    return this.options.pool;
  }

  /**
   * Runs a unary call. `idempotent` decides whether a transient failure may be retried: true
   * for reads and for writes whose repetition cannot change the outcome.
   */
  async unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    request: MessageShape<I>,
    idempotent: boolean,
    callOptions: RoutedCallOptions = {},
  ): Promise<MessageShape<O>> {
    const timeoutMs = callOptions.timeoutMs ?? this.options.callTimeoutMs;
    const timeout = new AbortController();
    const cancelTimer = this.options.clock.setTimer(timeoutMs, () => timeout.abort(new CallTimeoutError(method.name, timeoutMs)));
    const linked = linkSignals(callOptions.signal, timeout.signal, this.options.lifetime);
    try {
      throwIfAborted(linked.signal);
      const attempt = (): Promise<MessageShape<O>> => this.attemptWithToken(method, request, idempotent, linked.signal, callOptions.endpointIndex);
      if (!idempotent || this.options.retry.retries === 0) return await attempt();
      return await pRetry(attempt, {
        retries: this.options.retry.retries,
        minTimeout: this.options.retry.minDelayMs,
        maxTimeout: this.options.retry.maxDelayMs,
        factor: 2,
        randomize: true,
        signal: linked.signal,
        shouldRetry: ({ error }) => error instanceof EtcdError && error.retryable && !linked.signal.aborted,
      });
    } finally {
      cancelTimer();
      linked.dispose();
    }
  }

  /** One attempt with the session's token; a refused token is replaced and the call sent once more. */
  private async attemptWithToken<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>, request: MessageShape<I>, idempotent: boolean, signal: AbortSignal, endpointIndex: number | undefined,
  ): Promise<MessageShape<O>> {
    const auth = this.options.auth;
    if (auth === undefined || method.name === AUTHENTICATE_PATH) return this.attemptUnary(method, request, idempotent, signal, endpointIndex, {});
    const token = await auth.get(signal);
    try {
      return await this.attemptUnary(method, request, idempotent, signal, endpointIndex, { token });
    } catch (error) {
      if (!needsFreshToken(error)) throw error;
      auth.invalidate(token);
      return this.attemptUnary(method, request, idempotent, signal, endpointIndex, { token: await auth.get(signal) });
    }
  }

  private attemptUnary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    request: MessageShape<I>,
    idempotent: boolean,
    signal: AbortSignal,
    endpointIndex: number | undefined,
    metadata: Record<string, string>,
  ): Promise<MessageShape<O>> {
    const endpoint = endpointIndex === undefined ? this.options.pool.pick() : this.options.pool.at(endpointIndex);
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      let settled = false;
      const onAbort = (): void => {
        if (settled) return;
        settled = true;
        call.cancel();
        reject(signal.reason);
      };
      const call = endpoint.channel.unary(method, request, metadata, (error, response) => {
        signal.removeEventListener('abort', onAbort);
        if (settled) return;
        settled = true;
        if (error !== undefined || response === undefined) {
          const mapped = fromGrpcError(error ?? new Error('empty response'), idempotent);
          if (isEndpointFailure(mapped)) this.options.pool.markFailed(endpoint.index);
          reject(mapped);
        } else {
          resolve(response);
        }
      });
      signal.addEventListener('abort', onAbort, { once: true });
    });
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
