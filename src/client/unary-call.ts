/**
 * One unary call in flight: a single object holding everything the call needs, so the common
 * path (one attempt that succeeds) allocates the call, its promise and the channel's work, and
 * nothing else: no AbortController, no linked signal, no timer of its own, no retry policy.
 *
 * - The client's lifetime is watched by the transport with one listener for all its calls.
 * - A caller's signal, only when given, gets this object as a subscriber (`handleEvent`) on its
 *   one shared listener (abort-fanout.ts).
 * - The deadline sits in the client's DeadlineQueue (one timer), or on its own clock timer when
 *   the caller asked for a limit other than the client's default.
 * - Only after a retryable failure of an idempotent call does p-retry take over (with the
 *   failure already counted as its first attempt, so back-off and attempt counts are exactly
 *   those of running the whole call under p-retry).
 * - With auth on, the token held is sent at once; without one the call first waits for the
 *   login. A member refusing the token ("invalid auth token", "revision of auth store is old")
 *   refused before the call had any effect, so the call drops that token and is sent once more
 *   with a fresh one (even a write).
 */
import pRetry from 'p-retry';
import type { DescMessage, DescMethodUnary, MessageShape } from '@bufbuild/protobuf';
import { subscribeAbort, unsubscribeAbort } from './abort-fanout.js';
import type { Metadata } from './channel.js';
import type { DeadlineQueue, Expiring } from './deadlines.js';
import type { EndpointPool, PickedEndpoint } from './endpoints.js';
import { CallTimeoutError, EtcdError, fromGrpcError, isEndpointFailure } from './errors.js';
import type { AuthSession } from './auth-session.js';
import { needsFreshToken } from './auth-session.js';
import type { RetryPolicy } from './transport.js';
import type { Clock } from '../base/index.js';

/** What a call needs from its transport, shared by every call of a client. */
export interface CallContext {
  readonly pool: EndpointPool;
  readonly clock: Clock;
  readonly retry: RetryPolicy;
  readonly defaultTimeoutMs: number;
  readonly deadlines: DeadlineQueue;
  /** Metadata sent with every call (built once per client). */
  readonly metadata: Metadata;
  /** Calls in flight, for the lifetime listener and for draining on close. */
  readonly calls: Set<UnaryCall<DescMessage, DescMessage>>;
  /** The login, when the client was given credentials. */
  readonly auth: AuthSession | undefined;
  /** `metadata` plus the current token, rebuilt only when the token changes. */
  tokenMetadata: { readonly token: string; readonly metadata: Metadata } | undefined;
}

/** The one call sent without a token: the login itself. */
const AUTHENTICATE_METHOD = 'Authenticate';

export class UnaryCall<I extends DescMessage, O extends DescMessage> implements Expiring {
  readonly deadlineMs: number;
  finished = false;
  private handle: { cancel(): void } | undefined;
  private endpoint: PickedEndpoint | undefined;
  private cancelOwnTimer: (() => void) | undefined;
  /** Set while p-retry runs the remaining attempts: settles the current one. */
  private retryAttempt: { resolve(response: MessageShape<O>): void; reject(error: unknown): void } | undefined;
  private retryStop: AbortController | undefined;
  private settledWaiters: Array<() => void> | undefined;
  /** The token the attempt in flight carries (auth on). */
  private token: string | undefined;
  private tokenRenewed = false;

  constructor(
    private readonly context: CallContext,
    private readonly method: DescMethodUnary<I, O>,
    private readonly request: MessageShape<I>,
    private readonly idempotent: boolean,
    private readonly timeoutMs: number,
    private readonly signal: AbortSignal | undefined,
    private readonly endpointIndex: number | undefined,
    private readonly resolve: (response: MessageShape<O>) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    this.deadlineMs = context.clock.nowMs() + timeoutMs;
  }

  /** Sends the first attempt. The caller checked that neither the lifetime nor the signal has aborted. */
  start(): void {
    this.context.calls.add(this as unknown as UnaryCall<DescMessage, DescMessage>);
    if (this.signal !== undefined) subscribeAbort(this.signal, this);
    if (this.timeoutMs === this.context.defaultTimeoutMs) this.context.deadlines.add(this);
    else this.cancelOwnTimer = this.context.clock.setTimer(this.timeoutMs, () => this.expire());
    try {
      this.send();
    } catch (error) {
      this.fail(error);
    }
  }

  /** The caller's signal aborted (a subscriber object: no closure per call). */
  handleEvent(): void {
    this.abort(this.signal!.reason);
  }

  expire(): void {
    this.abort(new CallTimeoutError(this.method.name, this.timeoutMs));
  }

  /** Ends the call with `reason` and cancels the attempt in flight. */
  abort(reason: unknown): void {
    if (this.finished) return;
    const handle = this.handle;
    this.handle = undefined;
    this.finish();
    handle?.cancel();
    this.reject(reason);
  }

  /** Resolves once the call has settled (used by `close()` to drain). */
  settled(): Promise<void> {
    if (this.finished) return Promise.resolve();
    return new Promise((resolve) => (this.settledWaiters ??= []).push(resolve));
  }

  private send(): void {
    const auth = this.context.auth;
    if (auth === undefined || this.method.name === AUTHENTICATE_METHOD) {
      this.sendWith(this.context.metadata);
      return;
    }
    const held = auth.current;
    if (held !== undefined) {
      this.sendWithToken(held);
      return;
    }
    auth.get(this.signal).then((token) => {
      if (this.finished) return;
      try {
        this.sendWithToken(token);
      } catch (error) {
        this.attemptFailed(error);
      }
    }, (error: unknown) => this.attemptFailed(error));
  }

  private sendWithToken(token: string): void {
    this.token = token;
    let cached = this.context.tokenMetadata;
    if (cached?.token !== token) {
      cached = { token, metadata: { ...this.context.metadata, token } };
      this.context.tokenMetadata = cached;
    }
    this.sendWith(cached.metadata);
  }

  private sendWith(metadata: Metadata): void {
    const pool = this.context.pool;
    const endpoint = this.endpointIndex === undefined ? pool.pick() : pool.at(this.endpointIndex);
    this.endpoint = endpoint;
    this.handle = endpoint.channel.unary(this.method, this.request, metadata, this.onResponse);
  }

  /** An attempt ended in `error` before it reached a member (the login failed). */
  private attemptFailed(error: unknown): void {
    if (this.finished) return;
    if (this.retryAttempt !== undefined) this.retryAttempt.reject(error);
    else this.fail(error);
  }

  private readonly onResponse = (error: unknown, response: MessageShape<O> | undefined): void => {
    this.handle = undefined;
    if (this.finished) return;
    if (error == null && response !== undefined) {
      if (this.retryAttempt !== undefined) this.retryAttempt.resolve(response);
      else this.succeed(response);
      return;
    }
    const mapped = fromGrpcError(error ?? new Error('empty response'), this.idempotent);
    if (this.token !== undefined && !this.tokenRenewed && needsFreshToken(mapped)) {
      this.tokenRenewed = true;
      this.context.auth!.invalidate(this.token);
      this.token = undefined;
      try {
        this.send();
      } catch (sendError) {
        this.attemptFailed(sendError);
      }
      return;
    }
    if (isEndpointFailure(mapped)) this.context.pool.markFailed(this.endpoint!.index);
    if (this.retryAttempt !== undefined) this.retryAttempt.reject(mapped);
    else if (this.idempotent && mapped.retryable && this.context.retry.retries > 0) this.retryRest(mapped);
    else this.fail(mapped);
  };

  private retryRest(firstError: EtcdError): void {
    const stop = new AbortController();
    this.retryStop = stop;
    let first = true;
    const attempt = (): Promise<MessageShape<O>> => {
      if (first) {
        first = false;
        return Promise.reject(firstError);
      }
      return new Promise<MessageShape<O>>((resolve, reject) => {
        this.retryAttempt = { resolve, reject };
        this.send();
      });
    };
    const policy = this.context.retry;
    pRetry(attempt, {
      retries: policy.retries,
      minTimeout: policy.minDelayMs,
      maxTimeout: policy.maxDelayMs,
      factor: 2,
      randomize: true,
      signal: stop.signal,
      shouldRetry: ({ error }) => error instanceof EtcdError && error.retryable && !this.finished,
    }).then(
      (response) => this.succeed(response),
      (error: unknown) => this.fail(error),
    );
  }

  private succeed(response: MessageShape<O>): void {
    if (this.finished) return;
    this.finish();
    this.resolve(response);
  }

  private fail(error: unknown): void {
    if (this.finished) return;
    this.finish();
    this.reject(error);
  }

  private finish(): void {
    this.finished = true;
    this.retryAttempt = undefined;
    this.context.calls.delete(this as unknown as UnaryCall<DescMessage, DescMessage>);
    if (this.signal !== undefined) unsubscribeAbort(this.signal, this);
    if (this.cancelOwnTimer !== undefined) this.cancelOwnTimer();
    else this.context.deadlines.trim();
    this.retryStop?.abort();
    const waiters = this.settledWaiters;
    this.settledWaiters = undefined;
    if (waiters !== undefined) for (const waiter of waiters) waiter();
  }
}
