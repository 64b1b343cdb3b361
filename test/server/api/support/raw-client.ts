/**
 * A raw gRPC client for the differential tests: it sends protobuf-es messages to any server
 * speaking the etcd v3 wire protocol (ours or real etcd) through grpc-js, with the service
 * definitions built from the same generated descriptors, and returns responses or the gRPC
 * status as data (so scripts can compare errors like values).
 */
import { create } from '@bufbuild/protobuf';
import type { DescMessage, DescMethod, DescService, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import { credentials, makeClientConstructor, Metadata } from '@grpc/grpc-js';
import type { Client as GrpcClient, ClientDuplexStream, ServiceError } from '@grpc/grpc-js';
import { serviceDefinition } from '../../../../src/server/api/service-definition.js';

export interface RpcError {
  readonly code: number;
  readonly details: string;
}

export type RpcResult<T> = { readonly ok: T } | { readonly error: RpcError };

type Method = DescMethod & { input: DescMessage; output: DescMessage };

export class RawClient {
  private readonly clients = new Map<DescService, GrpcClient>();

  constructor(readonly endpoint: string) {}

  private client(service: DescService): GrpcClient & Record<string, (...args: unknown[]) => unknown> {
    let client = this.clients.get(service);
    if (client === undefined) {
      const Ctor = makeClientConstructor(serviceDefinition(service), service.typeName);
      client = new Ctor(this.endpoint, credentials.createInsecure());
      this.clients.set(service, client);
    }
    return client as GrpcClient & Record<string, (...args: unknown[]) => unknown>;
  }

  /** A unary call; resolves with the response or the gRPC error (never rejects for a status). */
  unary<M extends Method>(method: M, request: MessageInitShape<M['input']>, timeoutMs = 10_000, metadata: Metadata = new Metadata()): Promise<RpcResult<MessageShape<M['output']>>> {
    const client = this.client(method.parent);
    return new Promise((resolve) => {
      client[method.localName]!(create(method.input, request), metadata, { deadline: Date.now() + timeoutMs }, (error: ServiceError | null, response: MessageShape<M['output']>) => {
        if (error) resolve({ error: { code: error.code, details: error.details } });
        else resolve({ ok: response });
      });
    });
  }

  /** A bidirectional stream whose responses are queued for `next()`. */
  duplex<M extends Method>(method: M, metadata?: Metadata): DuplexCall<MessageInitShape<M['input']>, MessageShape<M['output']>> {
    const client = this.client(method.parent);
    const call = (metadata === undefined ? client[method.localName]!() : client[method.localName]!(metadata)) as ClientDuplexStream<unknown, MessageShape<M['output']>>;
    return new DuplexCall(call, (init) => create(method.input, init));
  }

  /** A server-streaming call whose responses are queued for `next()`. */
  serverStream<M extends Method>(method: M, request: MessageInitShape<M['input']>, metadata: Metadata = new Metadata()): DuplexCall<never, MessageShape<M['output']>> {
    const call = this.client(method.parent)[method.localName]!(create(method.input, request), metadata) as ClientDuplexStream<unknown, MessageShape<M['output']>>;
    return new DuplexCall(call, () => {
      throw new Error('a server stream takes no messages');
    });
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}

export class DuplexCall<I, O> {
  private readonly queue: O[] = [];
  private waiters: Array<() => void> = [];
  private ended: RpcError | 'eof' | undefined;

  constructor(private readonly call: ClientDuplexStream<unknown, O>, private readonly make: (init: I) => unknown) {
    call.on('data', (message: O) => {
      this.queue.push(message);
      this.wake();
    });
    call.on('error', (error: ServiceError) => {
      this.ended = { code: error.code, details: error.details };
      this.wake();
    });
    call.on('end', () => {
      this.ended ??= 'eof';
      this.wake();
    });
  }

  send(init: I): void {
    this.call.write(this.make(init));
  }

  /** The next response; rejects after `timeoutMs` or when the stream ended without one. */
  async next(timeoutMs = 10_000): Promise<O> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const head = this.queue.shift();
      if (head !== undefined) return head;
      if (this.ended !== undefined) throw new Error(`stream ended: ${JSON.stringify(this.ended)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no response in time');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Responses already received and not yet taken. */
  pending(): number {
    return this.queue.length;
  }

  get status(): RpcError | 'eof' | undefined {
    return this.ended;
  }

  close(): void {
    this.call.cancel();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }
}
