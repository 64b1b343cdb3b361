/**
 * One HTTP/2 connection to one member for the lean unary path: connected on first use,
 * reconnected with bounded, jittered back-off after a failed attempt (100 ms growing 1.6x to
 * 2 s, grpc-js's shape), pinged for liveness only while calls are open (etcd answers pings on
 * an idle connection with GOAWAY too_many_pings), and referenced on the event loop only while
 * calls are open (an idle client does not keep the process alive).
 *
 * While an attempt to connect has failed and no later one has succeeded the endpoint is
 * "known down": calls fail at once with UNAVAILABLE (as grpc-js fails them in
 * TRANSIENT_FAILURE), `usable()` is false so the pool sends calls elsewhere, and reconnection
 * goes on in the background until it succeeds or the channel is closed.
 */
import * as http2 from 'node:http2';
import type { SecureClientSessionOptions } from 'node:http2';
import type { TlsMaterial } from '../tls.js';
import { KEEPALIVE_TIMEOUT_CODE } from './status.js';

export interface ConnectionOptions {
  /** `host:port`. */
  readonly address: string;
  /** TLS (with ALPN h2) when given; cleartext HTTP/2 (h2c with prior knowledge) otherwise. */
  readonly tls: TlsMaterial | undefined;
  readonly keepAliveIntervalMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** An attempt that has not connected by then is abandoned (grpc-js's minimum, 20 s). */
  readonly connectTimeoutMs?: number;
  /**
   * Streams one session opens before calls move to a fresh one. HTTP/2 stream ids run out at
   * 2^31 (a client uses the odd ones: ~1.07 billion streams, a day and a half at 8,000 calls/s).
   */
  readonly maxStreamsPerSession?: number;
}

/** A session and its open calls. Calls hold the one they were started on. */
export class SessionHandle {
  active = 0;
  /** Streams opened on this session so far. */
  streams = 0;

  constructor(readonly session: http2.ClientHttp2Session) {}

  /** A call opened a stream on this session. */
  opened(): void {
    this.streams += 1;
    if (this.active++ === 0) this.session.ref();
  }

  /** A call's stream closed. */
  closed(): void {
    if (--this.active === 0 && !this.session.destroyed) this.session.unref();
  }
}

/** A call waiting for a session. */
export interface SessionWaiter {
  onSession(handle: SessionHandle): void;
  /** No session: the call fails with UNAVAILABLE and these details. */
  onUnavailable(details: string): void;
}

const BACKOFF_MULTIPLIER = 1.6;
const BACKOFF_JITTER = 0.2;

export class H2Connection {
  private ready: SessionHandle | undefined;
  private connecting: http2.ClientHttp2Session | undefined;
  private waiters: SessionWaiter[] = [];
  private knownDown = false;
  private closedForGood = false;
  private lastError = 'Failed to connect';
  private backoffMs: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly connectTimeoutMs: number;
  private readonly maxStreamsPerSession: number;
  private readonly authority: string;

  constructor(private readonly options: ConnectionOptions) {
    this.initialBackoffMs = options.initialBackoffMs ?? 100;
    this.maxBackoffMs = options.maxBackoffMs ?? 2_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 20_000;
    this.maxStreamsPerSession = options.maxStreamsPerSession ?? 1_000_000_000;
    this.backoffMs = this.initialBackoffMs;
    this.authority = `${options.tls === undefined ? 'http' : 'https'}://${options.address}`;
  }

  /** False while the member is known to be unreachable, and after close(). */
  usable(): boolean {
    return !this.knownDown && !this.closedForGood;
  }

  /** Hands `waiter` the ready session now, or once connected; or reports why there is none. */
  acquire(waiter: SessionWaiter): void {
    const ready = this.ready;
    if (ready !== undefined) {
      if (ready.streams < this.maxStreamsPerSession) {
        waiter.onSession(ready);
        return;
      }
      this.retire(ready.session);
    }
    if (this.closedForGood) {
      waiter.onUnavailable('Channel has been shut down');
      return;
    }
    if (this.knownDown) {
      waiter.onUnavailable(`No connection established. Last error: ${this.lastError}`);
      return;
    }
    this.waiters.push(waiter);
    if (this.connecting === undefined) this.connect();
  }

  /** A waiting call was cancelled before it got a session. */
  release(waiter: SessionWaiter): void {
    const index = this.waiters.indexOf(waiter);
    if (index >= 0) this.waiters.splice(index, 1);
  }

  close(): void {
    if (this.closedForGood) return;
    this.closedForGood = true;
    clearTimeout(this.retryTimer);
    this.failWaiters('Channel has been shut down');
    // Open streams (already cancelled by the client's shutdown) may still flush their resets.
    this.ready?.session.close();
    this.connecting?.destroy();
    this.ready = undefined;
    this.connecting = undefined;
  }

  private connect(): void {
    const options: SecureClientSessionOptions = {
      // grpc-js's choice: Node's default 10 MB session memory cap breaks large responses.
      maxSessionMemory: Number.MAX_SAFE_INTEGER,
      ...this.options.tls,
    };
    const session = http2.connect(this.authority, options);
    session.unref();
    this.connecting = session;
    let connected = false;
    const timeout = setTimeout(() => session.destroy(new Error('Connection timed out')), this.connectTimeoutMs);
    timeout.unref();
    session.once('connect', () => {
      clearTimeout(timeout);
      connected = true;
      this.connecting = undefined;
      if (this.closedForGood) {
        session.close();
        return;
      }
      const handle = new SessionHandle(session);
      this.ready = handle;
      this.knownDown = false;
      this.backoffMs = this.initialBackoffMs;
      this.startKeepAlive(handle);
      const waiters = this.waiters;
      this.waiters = [];
      for (const waiter of waiters) waiter.onSession(handle);
    });
    session.on('error', (error: Error) => {
      this.lastError = error.message;
    });
    // A GOAWAY: calls already open finish on this session; new ones get a new session.
    session.on('goaway', () => this.detach(session));
    session.once('close', () => {
      clearTimeout(timeout);
      if (connected) {
        this.detach(session);
        return;
      }
      if (this.connecting === session) this.connecting = undefined;
      this.connectFailed();
    });
  }

  /** `session` cannot take more calls (its calls in flight finish on it); the next call connects anew. */
  retire(session: http2.ClientHttp2Session): void {
    this.detach(session);
    if (!session.closed && !session.destroyed) session.close();
  }

  /** `session` takes no more calls; the next call connects anew. */
  private detach(session: http2.ClientHttp2Session): void {
    if (this.ready?.session === session) this.ready = undefined;
  }

  private connectFailed(): void {
    if (this.closedForGood) return;
    this.knownDown = true;
    this.failWaiters(`No connection established. Last error: ${this.lastError}`);
    const jitter = 1 + BACKOFF_JITTER * (Math.random() * 2 - 1);
    const delayMs = this.backoffMs * jitter;
    this.backoffMs = Math.min(this.backoffMs * BACKOFF_MULTIPLIER, this.maxBackoffMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.closedForGood && this.connecting === undefined && this.ready === undefined) this.connect();
    }, delayMs);
    this.retryTimer.unref();
  }

  private failWaiters(details: string): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.onUnavailable(details);
  }

  /**
   * Every interval, a ping if calls are open; no answer within the timeout destroys the
   * session, which fails its calls with UNAVAILABLE (the pool then fails over).
   */
  private startKeepAlive(handle: SessionHandle): void {
    const session = handle.session;
    let awaiting = false;
    const interval = setInterval(() => {
      if (awaiting || handle.active === 0 || session.destroyed) return;
      awaiting = true;
      const deadline = setTimeout(() => session.destroy(Object.assign(new Error('Keepalive timeout'), { code: KEEPALIVE_TIMEOUT_CODE })), this.options.keepAliveTimeoutMs);
      deadline.unref();
      const sent = session.ping((error) => {
        awaiting = false;
        clearTimeout(deadline);
        if (error !== null && !session.destroyed) session.destroy(error);
      });
      if (!sent) {
        awaiting = false;
        clearTimeout(deadline);
      }
    }, this.options.keepAliveIntervalMs);
    interval.unref();
    session.once('close', () => clearInterval(interval));
  }
}
