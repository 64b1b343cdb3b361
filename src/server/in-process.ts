import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import { Metadata as GrpcMetadata, status } from '@grpc/grpc-js';
import type { RegisteredMethod } from './api/grpc-server.js';

/** Call metadata as plain key/values (what the SDK's in-process channel passes). */
export type PlainMetadata = Readonly<Record<string, string>>;

/** The client side of an in-process stream (the shape the SDK's EmbeddedMember streams have). */
export interface InProcessStream {
  write(message: unknown): unknown;
  end(): void;
  cancel(): void;
  on(event: string, listener: (...args: never[]) => void): unknown;
}

/**
 * A member reached from this very process: calls go straight to the gRPC service handlers
 * with message objects — no socket, no HTTP/2, no serialization. It has the shape the SDK's
 * in-process channel expects (EmbeddedMember in src/client/channel.ts), declared there; the
 * server never imports the client.
 */
export interface InProcessEndpoint {
  readonly name: string;
  unary(path: string, request: unknown, metadata: PlainMetadata, signal: AbortSignal): Promise<unknown>;
  /** The unary call with a callback (called at most once, never after cancel) and a cancel handle. */
  call(path: string, request: unknown, metadata: PlainMetadata, callback: (error: unknown, response: unknown) => void): { cancel(): void };
  stream(path: string, metadata: PlainMetadata, request?: unknown): InProcessStream;
  usable(): boolean;
}

/** An error shaped like grpc-js's client errors (code, details, metadata), which the SDK maps. */
function clientError(error: unknown): Error {
  const e = (error ?? {}) as { code?: number; details?: string; message?: string };
  const details = e.details ?? e.message ?? String(error);
  return Object.assign(new Error(`${e.code ?? status.UNKNOWN} ${details}`), { code: e.code ?? status.UNKNOWN, details, metadata: new GrpcMetadata() });
}

function grpcMetadata(metadata: PlainMetadata): GrpcMetadata {
  const out = new GrpcMetadata();
  for (const key in metadata) out.set(key, metadata[key]!);
  return out;
}

/**
 * A unary call's metadata, converted once per record: the SDK passes its client's one record on
 * every call. Shared between calls, so read-only: handlers only read a request's metadata.
 */
const unaryMetadata = new WeakMap<PlainMetadata, GrpcMetadata>();
function sharedGrpcMetadata(metadata: PlainMetadata): GrpcMetadata {
  let converted = unaryMetadata.get(metadata);
  if (converted === undefined) {
    converted = grpcMetadata(metadata);
    unaryMetadata.set(metadata, converted);
  }
  return converted;
}

type UnaryCallback = (error: unknown, response: unknown) => void;

/**
 * One in-process unary call, shaped like the grpc-js ServerUnaryCall the handlers read
 * (request, metadata, cancelled, getPeer, getDeadline, the 'cancelled' event) and doubling as
 * the caller's cancel handle. A class, not an object literal with closures, because it is made
 * on every embedded call.
 */
class InProcessUnaryCall extends EventEmitter {
  cancelled = false;
  private settled = false;
  readonly metadata: GrpcMetadata;

  constructor(readonly request: unknown, metadata: PlainMetadata, private readonly peer: string, private readonly callback: UnaryCallback) {
    super();
    this.metadata = sharedGrpcMetadata(metadata);
  }

  getPeer(): string {
    return this.peer;
  }

  getDeadline(): number {
    return Infinity;
  }

  /** The handler's answer; ignored after cancel() or a first answer. */
  respond(error: unknown, response?: unknown): void {
    if (this.settled) return;
    this.settled = true;
    if (error) this.callback(clientError(error), undefined);
    else this.callback(undefined, response);
  }

  cancel(): void {
    if (this.settled) return;
    this.settled = true;
    this.cancelled = true;
    this.emit('cancelled');
  }
}

export function createInProcessEndpoint(name: string, methods: ReadonlyMap<string, RegisteredMethod>, usable: () => boolean): InProcessEndpoint {
  const peer = `in-process:${name}`;
  const lookup = (path: string): RegisteredMethod => {
    const method = methods.get(path);
    if (method === undefined) throw clientError({ code: status.UNIMPLEMENTED, details: `unknown method ${path}` });
    return method;
  };
  const endpoint: InProcessEndpoint = {
    name,
    usable,
    call(path, request, metadata, callback) {
      const method = lookup(path);
      const call = new InProcessUnaryCall(request, metadata, peer, callback);
      (method.handler as (c: unknown, cb: (error: unknown, response?: unknown) => void) => void)(call, (error, response) => call.respond(error, response));
      return call;
    },
    unary(path, request, metadata, signal) {
      return new Promise((resolve, reject) => {
        const started: { handle?: { cancel(): void } } = {};
        const onAbort = (): void => {
          started.handle?.cancel();
          reject(clientError({ code: status.CANCELLED, details: 'Cancelled on client' }));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        // A handler may answer synchronously, before `handle` is assigned.
        started.handle = endpoint.call(path, request, metadata, (error, response) => {
          signal.removeEventListener('abort', onAbort);
          if (error !== undefined) reject(error);
          else resolve(response);
        });
      });
    },
    stream(path, metadata, request) {
      const method = lookup(path);
      const client = new EventEmitter() as EventEmitter & InProcessStream;
      let finished = false;
      // Deliver to the client on a later microtask, as a network would: handlers never see
      // their own writes re-enter them.
      const toClient = (event: string, value?: unknown): void => {
        queueMicrotask(() => {
          if (finished && event !== 'data') return;
          if (event !== 'data') finished = true;
          client.emit(event, value);
        });
      };
      const server = new Duplex({
        objectMode: true,
        read() {},
        write(chunk, _encoding, callback) {
          // A response the handler wrote pre-encoded (Watch) reaches the client as the message object it expects.
          toClient('data', chunk instanceof Uint8Array ? method.responseDeserialize(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)) : chunk);
          callback();
        },
        final(callback) {
          toClient('end');
          callback();
        },
      });
      Object.assign(server, { request, metadata: grpcMetadata(metadata), cancelled: false, getPeer: () => peer, getDeadline: () => Infinity });
      // grpc-js ends a call with a status when the handler emits 'error' on it.
      const emit = server.emit.bind(server);
      server.emit = ((event: string, ...args: unknown[]) => {
        if (event === 'error') {
          toClient('error', clientError(args[0]));
          queueMicrotask(() => emit('close'));
          return true;
        }
        return emit(event, ...args);
      }) as typeof server.emit;
      client.write = (message: unknown) => server.push(message);
      client.end = () => {
        server.push(null);
      };
      client.cancel = () => {
        if (finished) return;
        (server as unknown as { cancelled: boolean }).cancelled = true;
        emit('cancelled');
        toClient('error', clientError({ code: status.CANCELLED, details: 'Cancelled on client' }));
        server.destroy();
      };
      (method.handler as (c: unknown) => void)(server);
      return client;
    },
  };
  return endpoint;
}
