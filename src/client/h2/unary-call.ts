/**
 * One unary gRPC call on an HTTP/2 stream: HEADERS + one framed message out, then response
 * headers, one message and trailers (or a trailers-only answer) in. The call ends exactly once,
 * with the first status it learns, reported through the Channel's callback as grpc-js would:
 * `(null, response)` or `(error, undefined)` with `error` shaped like a grpc-js ServiceError.
 */
import { constants as h2 } from 'node:http2';
import type { ClientHttp2Stream, IncomingHttpHeaders, IncomingHttpStatusHeader, OutgoingHttpHeaders } from 'node:http2';
import { GrpcStatus } from '../errors.js';
import type { H2Connection, SessionHandle, SessionWaiter } from './connection.js';
import { FramingError, MessageReader } from './framing.js';
import { simpleStatus, statusError, statusFromHttp, statusFromReset, statusFromTrailers } from './status.js';
import type { CallStatus } from './status.js';

const sessionErrors = new Set(['ERR_HTTP2_INVALID_SESSION', 'ERR_HTTP2_GOAWAY_SESSION', 'ERR_HTTP2_OUT_OF_STREAMS']);

function sessionUnusable(handle: SessionHandle, error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return handle.session.closed || handle.session.destroyed || (typeof code === 'string' && sessionErrors.has(code));
}

export type UnaryCallback<O> = (error: unknown, response: O | undefined) => void;

export class H2UnaryCall<O> implements SessionWaiter {
  private done = false;
  private stream: ClientHttp2Stream | undefined;
  private handle: SessionHandle | undefined;
  private httpStatus: number | undefined;
  private reader: MessageReader | undefined;
  private message: Buffer | undefined;
  /** An OK status waiting for the end of the body (a message may still follow). */
  private okStatus: CallStatus | undefined;
  private streamError: Error | undefined;

  constructor(
    private readonly connection: H2Connection,
    private readonly headers: OutgoingHttpHeaders,
    private readonly body: Buffer,
    private readonly maxMessageBytes: number,
    private readonly deserialize: (bytes: Buffer) => O,
    private readonly callback: UnaryCallback<O>,
  ) {}

  start(): void {
    this.connection.acquire(this);
  }

  /** RST_STREAM(CANCEL) to the server; the callback gets CANCELLED (on the next tick, as in grpc-js). */
  cancel(): void {
    if (this.done) return;
    this.done = true;
    if (this.stream !== undefined) this.stream.close(h2.NGHTTP2_CANCEL);
    else this.connection.release(this);
    process.nextTick(this.callback, statusError(simpleStatus(GrpcStatus.CANCELLED, 'Cancelled on client')), undefined);
  }

  onUnavailable(details: string): void {
    this.fail(simpleStatus(GrpcStatus.UNAVAILABLE, details));
  }

  onSession(handle: SessionHandle): void {
    if (this.done) return;
    let stream: ClientHttp2Stream;
    try {
      stream = handle.session.request(this.headers);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (sessionUnusable(handle, error)) {
        // The session began closing (GOAWAY, destroy) or ran out of stream ids: another
        // session can take the call (UNAVAILABLE: retried when idempotent).
        this.connection.retire(handle.session);
        this.fail(simpleStatus(GrpcStatus.UNAVAILABLE, message));
      } else {
        // The request itself cannot be sent (a metadata value Node refuses as a header):
        // sending it elsewhere would not help, so it is not reported as UNAVAILABLE.
        this.fail(simpleStatus(GrpcStatus.INTERNAL, message));
      }
      return;
    }
    this.stream = stream;
    this.handle = handle;
    handle.opened();
    stream.on('response', this.onResponse);
    stream.on('data', this.onData);
    stream.on('trailers', this.onTrailers);
    stream.on('end', this.onEnd);
    stream.on('error', this.onError);
    stream.on('close', this.onClose);
    stream.end(this.body);
  }

  private readonly onResponse = (headers: IncomingHttpHeaders & IncomingHttpStatusHeader, flags: number): void => {
    this.httpStatus = headers[':status'];
    if ((flags & h2.NGHTTP2_FLAG_END_STREAM) !== 0) this.onTrailers(headers);
  };

  private readonly onData = (chunk: Buffer): void => {
    if (this.done) return;
    let messages: Buffer[];
    try {
      messages = (this.reader ??= new MessageReader(this.maxMessageBytes)).push(chunk);
    } catch (error) {
      // An HTML error page from a proxy parses as a huge frame: its HTTP status says more.
      if (this.httpStatus !== undefined && this.httpStatus !== 200) this.abandon(statusFromHttp(this.httpStatus));
      else if (error instanceof FramingError) this.abandon(simpleStatus(error.tooLarge ? GrpcStatus.RESOURCE_EXHAUSTED : GrpcStatus.INTERNAL, error.message));
      else throw error;
      return;
    }
    for (const message of messages) {
      if (this.message !== undefined) {
        this.abandon(simpleStatus(GrpcStatus.UNIMPLEMENTED, 'Too many responses received'));
        return;
      }
      this.message = message;
    }
  };

  private readonly onTrailers = (headers: IncomingHttpHeaders): void => {
    if (this.done) return;
    const status = statusFromTrailers(headers, this.httpStatus);
    if (status.code !== GrpcStatus.OK) this.fail(status);
    else if (this.message !== undefined) this.succeed();
    else this.okStatus = status; // the body's end decides (see onEnd)
  };

  private readonly onEnd = (): void => {
    if (this.done || this.okStatus === undefined) return;
    if (this.message !== undefined && this.reader?.partial !== true) this.succeed();
    else this.fail(simpleStatus(GrpcStatus.UNIMPLEMENTED, 'No message received'));
  };

  private readonly onError = (error: Error & { code?: string }): void => {
    // Errors built from a received RST_STREAM say nothing the reset code does not.
    if (error.code !== 'ERR_HTTP2_STREAM_ERROR') this.streamError = error;
  };

  private readonly onClose = (): void => {
    const handle = this.handle!;
    handle.closed();
    if (this.done) return;
    if (this.okStatus !== undefined) {
      this.onEnd();
      return;
    }
    const session = handle.session;
    const dropped = session.destroyed || session.closed;
    this.fail(statusFromReset(this.stream!.rstCode, this.httpStatus, dropped, this.streamError));
  };

  private succeed(): void {
    this.done = true;
    let response: O;
    try {
      response = this.deserialize(this.message!);
    } catch (error) {
      this.callback(statusError(simpleStatus(GrpcStatus.INTERNAL, `Response message parsing error: ${error instanceof Error ? error.message : String(error)}`)), undefined);
      return;
    }
    this.callback(null, response);
  }

  private fail(status: CallStatus): void {
    if (this.done) return;
    this.done = true;
    this.callback(statusError(status), undefined);
  }

  /** Ends the call on our side: the server has not finished the stream, so it is reset. */
  private abandon(status: CallStatus): void {
    this.fail(status);
    this.stream?.close(h2.NGHTTP2_CANCEL);
  }
}
