/**
 * Adapters from async handlers to grpc-js call handlers. Each call gets an AbortSignal that
 * aborts when the client cancels or the deadline passes, so waits inside the member (read
 * barrier, proposals, lock waits) end with the call. Errors map through toServiceError.
 */
import type { Metadata, sendUnaryData, ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import type { CallIdentity } from '../auth/caller.js';
import { toServiceError } from './grpc-status.js';

/** What writeMessage needs from a grpc-js server stream. */
export interface WritableCall<O> {
  write(message: O): boolean;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
  readonly destroyed: boolean;
  /** True once end() was called (a status is on its way): writing then would replace that status. */
  readonly writableEnded: boolean;
}

/**
 * Writes `message` respecting the transport's backpressure: resolves at once if the stream
 * took it without filling up, otherwise after 'drain'; rejects if the stream closes first,
 * so a writer never waits forever on a call that went away.
 */
export function writeMessage<O>(call: WritableCall<O>, message: O): Promise<void> {
  return new Promise((resolve, reject) => {
    if (call.destroyed || call.writableEnded) {
      reject(new Error('stream closed'));
      return;
    }
    if (call.write(message)) {
      resolve();
      return;
    }
    const onDrain = (): void => {
      call.off('close', onClose);
      resolve();
    };
    const onClose = (): void => {
      call.off('drain', onDrain);
      reject(new Error('stream closed'));
    };
    call.once('drain', onDrain);
    call.once('close', onClose);
  });
}

export interface CallContext {
  /**
   * Aborts when the client cancels (or the deadline passes). Made on first access: a handler
   * with nothing to wait for (a serializable read) never pays for an AbortController. Read it
   * as `context.signal` where it is needed rather than destructuring it up front.
   */
  readonly signal: AbortSignal;
  readonly metadata: Metadata;
  /**
   * Who is calling, as the auth guard (guards.ts) resolved it; pass it to every proposal
   * and permission check made for this call. Undefined only without an auth gate (in-memory
   * test ports), where proposals are then the member's own.
   */
  readonly caller: CallIdentity | undefined;
}

/**
 * The callback slot of a handler as the guard calls it: grpc-js passes one to unary handlers
 * only; the guard then adds the caller as a third argument.
 */
export type GuardCallback = ((error: unknown, value?: unknown) => void) | undefined;

export type UnaryHandler<I, O> = (request: I, context: CallContext) => Promise<O>;

/** The abort reason of a cancelled call: one shared instance (no stack capture per call). */
const CANCELLED_BY_CLIENT: Error = Object.assign(new Error('call cancelled by the client'), { name: 'AbortError' });

interface CancellableCall {
  once(event: 'cancelled', listener: () => void): unknown;
}

/**
 * A signal that aborts when `call` is cancelled by the client (or its deadline passes) while
 * `isDone()` is false; grpc-js also reports 'cancelled' as a finished call closes, which must
 * not abort anything.
 */
export function callSignal(call: CancellableCall, isDone: () => boolean = () => false): AbortSignal {
  const controller = new AbortController();
  call.once('cancelled', () => {
    if (!isDone()) controller.abort(CANCELLED_BY_CLIENT);
  });
  return controller.signal;
}

interface UnaryServerCall extends CancellableCall {
  readonly metadata: Metadata;
  /** grpc-js (and the in-process call) set it once the client has cancelled. */
  readonly cancelled: boolean;
}

/**
 * The context of one unary call. Its AbortController, and its listener for the client's
 * cancel, are made only if the handler asks for the signal: a handler with nothing to wait
 * for (a serializable read) costs neither.
 */
class UnaryCallContext implements CallContext {
  /** Set once the handler has answered: grpc-js also reports 'cancelled' as a finished call closes. */
  done = false;
  private controller: AbortController | undefined;

  constructor(private readonly call: UnaryServerCall, readonly caller: CallIdentity | undefined) {}

  get metadata(): Metadata {
    return this.call.metadata;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      const controller = new AbortController();
      this.controller = controller;
      if (this.call.cancelled) controller.abort(CANCELLED_BY_CLIENT);
      else {
        this.call.once('cancelled', () => {
          if (!this.done) controller.abort(CANCELLED_BY_CLIENT);
        });
      }
    }
    return this.controller.signal;
  }
}

export function unary<I, O>(handler: UnaryHandler<I, O>): (call: ServerUnaryCall<I, O>, callback: sendUnaryData<O>, caller?: CallIdentity) => void {
  return (call, callback, caller) => {
    const context = new UnaryCallContext(call, caller);
    let answer: Promise<O>;
    try {
      // Promise.resolve hands back the handler's own promise: no extra one per call.
      answer = Promise.resolve(handler(call.request, context));
    } catch (error) {
      // A handler that throws synchronously is treated like one that rejects.
      context.done = true;
      callback(toServiceError(error));
      return;
    }
    answer.then(
      (response) => {
        context.done = true;
        callback(null, response);
      },
      (error: unknown) => {
        context.done = true;
        callback(toServiceError(error));
      },
    );
  };
}

/** A server-streaming call: `handler` writes messages with `send` and resolves when done. */
export function serverStream<I, O>(
  handler: (request: I, send: (message: O) => Promise<void>, context: CallContext) => Promise<void>,
  tracker?: StreamTracker,
): (call: ServerWritableStream<I, O>, callback?: GuardCallback, caller?: CallIdentity) => void {
  return (call, _callback, caller) => {
    if (tracker !== undefined && !tracker.track(call)) return;
    const signal = callSignal(call);
    const send = (message: O): Promise<void> => (signal.aborted ? Promise.reject(signal.reason) : writeMessage(call, message));
    new Promise<void>((resolve) => resolve(handler(call.request, send, { signal, metadata: call.metadata, caller }))).then(
      () => call.end(),
      (error: unknown) => {
        // grpc-js turns an 'error' event into the call's status and ends the stream.
        if (!signal.aborted) call.emit('error', toServiceError(error));
      },
    );
  };
}

/** What StreamTracker needs from a long-lived grpc-js call. */
export interface TrackedCall {
  emit(event: 'error', error: unknown): boolean;
  once(event: 'close' | 'cancelled' | 'finish', listener: () => void): unknown;
}

/**
 * The server's open long-lived streams (watch, keep-alive, observe, health watch), so a
 * graceful shutdown can end them with etcd's "server stopped" instead of waiting for clients
 * that never hang up. A call started after `endAll` is ended at once.
 */
export class StreamTracker {
  private readonly calls = new Set<TrackedCall>();
  private stoppedWith: unknown;

  /** Registers `call`; returns false (after ending it) if the server is already stopping. */
  track(call: TrackedCall): boolean {
    if (this.stoppedWith !== undefined) {
      call.emit('error', toServiceError(this.stoppedWith));
      return false;
    }
    this.calls.add(call);
    const forget = (): void => {
      this.calls.delete(call);
    };
    call.once('close', forget);
    call.once('cancelled', forget);
    call.once('finish', forget);
    return true;
  }

  get size(): number {
    return this.calls.size;
  }

  /** Ends every tracked call with `error`'s status, and every later one too. */
  endAll(error: unknown): void {
    this.stoppedWith = error;
    const calls = [...this.calls];
    this.calls.clear();
    for (const call of calls) call.emit('error', toServiceError(error));
  }
}
