/**
 * A deliberately thin etcd v3 client for the load generator: grpc-js calls on the generated
 * descriptors (src/gen), no retries, no signals, requests serialised once where they repeat,
 * and responses left undecoded when the workload does not look at them. The SDK's Client
 * spends several times the server's CPU per call (validation, abort wiring, retry policy), which
 * on a 2-core machine would make the load generator the bottleneck; the lock rows still use the
 * SDK (that is what users run).
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { DescMessage, MessageShape } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import {
  KV, Lease, LeaseGrantRequestSchema, LeaseGrantResponseSchema, LeaseRevokeRequestSchema, PutRequestSchema, RangeRequestSchema,
  TxnRequestSchema, TxnResponseSchema, Watch, WatchRequestSchema, WatchResponseSchema, Compare_CompareResult, Compare_CompareTarget,
} from '../../src/gen/etcdserverpb/rpc_pb.js';
import type { TxnResponse } from '../../src/gen/etcdserverpb/rpc_pb.js';
import { methodPath } from '../../src/client/index.js';

const encoder = new TextEncoder();
const identity = (bytes: Buffer): Buffer => bytes;
const passBuffer = (bytes: Buffer): Buffer => bytes;

function encode<T extends DescMessage>(schema: T, value: MessageShape<T>): Buffer {
  const bytes = toBinary(schema, value);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export class RawClient {
  private readonly channel: grpc.Client;

  /** With auth on: the token sent as `token` metadata on every call (set after Authenticate). */
  token: string | undefined;

  constructor(endpoint: string) {
    this.channel = new grpc.Client(endpoint, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    });
  }

  /** One unary call with an already-encoded request; resolves with the undecoded response. */
  private metadata(): grpc.Metadata {
    const metadata = new grpc.Metadata();
    if (this.token !== undefined) metadata.set('token', this.token);
    return metadata;
  }

  call(path: string, request: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.channel.makeUnaryRequest(path, passBuffer, identity, request, this.metadata(), (error, response) => (error ? reject(error) : resolve(response!)));
    });
  }

  static encodePut(key: string, value: Uint8Array, lease = 0n): Buffer {
    return encode(PutRequestSchema, create(PutRequestSchema, { key: encoder.encode(key), value, lease }));
  }

  static encodeGet(key: string, serializable: boolean): Buffer {
    return encode(RangeRequestSchema, create(RangeRequestSchema, { key: encoder.encode(key), serializable }));
  }

  put(request: Buffer): Promise<Buffer> {
    return this.call(PUT, request);
  }

  range(request: Buffer): Promise<Buffer> {
    return this.call(RANGE, request);
  }

  /** if mod_revision(key) == revision then put(key, value) else get(key). */
  async compareAndSwap(key: string, revision: bigint, value: Uint8Array): Promise<TxnResponse> {
    const keyBytes = encoder.encode(key);
    const request = create(TxnRequestSchema, {
      compare: [{ key: keyBytes, result: Compare_CompareResult.EQUAL, target: Compare_CompareTarget.MOD, targetUnion: { case: 'modRevision', value: revision } }],
      success: [{ request: { case: 'requestPut', value: { key: keyBytes, value } } }],
      failure: [{ request: { case: 'requestRange', value: { key: keyBytes } } }],
    });
    return fromBinary(TxnResponseSchema, await this.call(TXN, encode(TxnRequestSchema, request)));
  }

  async leaseGrant(ttlSeconds: number): Promise<bigint> {
    const response = await this.call(LEASE_GRANT, encode(LeaseGrantRequestSchema, create(LeaseGrantRequestSchema, { TTL: BigInt(ttlSeconds) })));
    return fromBinary(LeaseGrantResponseSchema, response).ID;
  }

  async leaseRevoke(id: bigint): Promise<void> {
    await this.call(LEASE_REVOKE, encode(LeaseRevokeRequestSchema, create(LeaseRevokeRequestSchema, { ID: id })));
  }

  /**
   * Opens one Watch stream carrying `count` watches on `key`; `onEvent` gets every put's value.
   * Resolves once every watch is created; the returned function ends the stream.
   */
  async watchMany(key: string, count: number, onEvent: (value: Uint8Array) => void): Promise<() => void> {
    const stream = this.channel.makeBidiStreamRequest(WATCH, passBuffer, identity, this.metadata());
    let created = 0;
    let allCreated: () => void = () => {};
    const ready = new Promise<void>((resolve, reject) => {
      allCreated = resolve;
      stream.on('error', (error: { code?: number }) => {
        if (error.code !== grpc.status.CANCELLED) reject(error);
      });
    });
    stream.on('data', (bytes: Buffer) => {
      const response = fromBinary(WatchResponseSchema, bytes);
      if (response.created && ++created === count) allCreated();
      for (const event of response.events) if (event.kv !== undefined) onEvent(event.kv.value);
    });
    const createRequest = encode(WatchRequestSchema, create(WatchRequestSchema, { requestUnion: { case: 'createRequest', value: { key: encoder.encode(key) } } }));
    if (count === 0) allCreated();
    for (let i = 0; i < count; i++) stream.write(createRequest);
    await ready;
    return () => stream.cancel();
  }

  close(): void {
    this.channel.close();
  }
}

const PUT = methodPath(KV.method.put);
const RANGE = methodPath(KV.method.range);
const TXN = methodPath(KV.method.txn);
const LEASE_GRANT = methodPath(Lease.method.leaseGrant);
const LEASE_REVOKE = methodPath(Lease.method.leaseRevoke);
const WATCH = methodPath(Watch.method.watch);
