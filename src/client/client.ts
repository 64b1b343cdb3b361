/**
 * The etcd v3 client: KV builders, txns, watches, leases, cluster and maintenance calls over
 * one endpoint pool. Lifecycle: `close()` waits for calls in flight, runs the close hooks
 * (sessions revoke their leases there), then ends watches and streams; `destroy(reason)`
 * aborts everything at once; both are idempotent, and `await using` calls `close()`.
 */
import { create } from '@bufbuild/protobuf';
import type * as grpc from '@grpc/grpc-js';
import {
  Cluster, CompactionRequestSchema, KV, Lease, LeaseGrantRequestSchema, LeaseLeasesRequestSchema,
  LeaseRevokeRequestSchema, LeaseTimeToLiveRequestSchema, Maintenance, MemberListRequestSchema, RangeRequestSchema,
  StatusRequestSchema,
} from '../gen/etcdserverpb/rpc_pb.js';
import { InvalidOptionError, requireInteger, silentLogger, systemClock } from '../base/index.js';
import type { Clock, Logger } from '../base/index.js';
import type { EmbeddedMember } from './channel.js';
import { EndpointPool } from './endpoints.js';
import type { NetworkTransport } from './endpoints.js';
import { ClientClosedError } from './errors.js';
import { KeepAliveHub } from './keepalive-hub.js';
import type { KeepAliveListener, KeepAliveRegistration } from './keepalive-hub.js';
import { FROM_KEY, Namespace, prefixEnd, toBytes } from './keys.js';
import type { Key } from './keys.js';
import { DeleteBuilder, PutBuilder, RangeBuilder, TxnBuilder } from './kv.js';
import type { KvExecutor } from './kv.js';
import {
  deleteFromWire, deleteToWire, isReadOnly, putFromWire, putToWire, rangeFromWire, rangeToWire, txnFromWire, txnToWire,
} from './ops.js';
import type { DeleteSpec, PutSpec, RangeSpec, TxnSpec } from './ops.js';
import { fromWireHeader } from './results.js';
import type { DeleteResult, Header, PutResult, RangeResult, TxnResult } from './results.js';
import { tlsMaterial } from './tls.js';
import type { TlsOptions } from './tls.js';
import { Transport } from './transport.js';
import { AuthAdmin } from './auth-admin.js';
import { AuthSession, validateCredentials } from './auth-session.js';
import type { AuthCredentials } from './auth-session.js';
import type { CallOptions, RetryPolicy } from './transport.js';
import { WatchHub } from './watch-hub.js';
import { Watcher } from './watcher.js';

export interface ClientOptions {
  /** `host:port` (or `http://host:port`) of one or more members. */
  readonly endpoints?: readonly string[];
  /**
   * Members embedded in this process, called without network or serialization (tried before
   * `endpoints`). The Conclave server's embedded member implements EmbeddedMember.
   */
  readonly embedded?: readonly EmbeddedMember[];
  /** A prefix added to every key this client sends and removed from every key it receives. */
  readonly namespace?: Key;
  /** Default overall time limit per call, including retries. Default 5000. */
  readonly callTimeoutMs?: number;
  /** Back-off for retrying reads and idempotent calls. Default 4 retries, 50..1000 ms. */
  readonly retry?: Partial<RetryPolicy>;
  /** HTTP/2 keep-alive ping interval. Default 10000 (etcd refuses pings more often than 5 s). */
  readonly keepAliveIntervalMs?: number;
  /** A ping unanswered this long marks the connection dead. Default 5000. */
  readonly keepAliveTimeoutMs?: number;
  /** Largest response accepted. Default 64 MiB. */
  readonly maxReceiveMessageBytes?: number;
  /** Events a watcher buffers before it is parked (see Watcher). Default 10000. */
  readonly watchBufferEvents?: number;
  /** gRPC channel credentials for every endpoint (insecure when neither this nor `tls` is given). */
  readonly credentials?: grpc.ChannelCredentials;
  /** TLS to every endpoint from PEM material (`{ ca, cert, key }`); the alternative to `credentials`. */
  readonly tls?: TlsOptions;
  /**
   * What carries calls to `endpoints`: `http2` (default), the SDK's own gRPC client on
   * node:http2 for unary calls (watch and keep-alive streams use grpc-js), or `grpc-js` for
   * all calls. `credentials` implies `grpc-js`.
   */
  readonly transport?: NetworkTransport;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Log in as this user: every call carries its token, renewed once when a member refuses it. */
  readonly auth?: AuthCredentials;
}

export interface WatchOptions {
  /** Watch every key with this prefix instead of one key. */
  readonly prefix?: boolean;
  /** Watch [key, rangeEnd) instead of one key. */
  readonly rangeEnd?: Key;
  /** First revision to deliver (inclusive). Omitted: only changes after the watch is set up. */
  readonly startRevision?: bigint;
  readonly prevKv?: boolean;
  readonly noPut?: boolean;
  readonly noDelete?: boolean;
  /** Ends the watcher; iteration then throws the signal's reason. */
  readonly signal?: AbortSignal;
}

export interface LeaseGrant {
  readonly id: bigint;
  /** The TTL the server granted (it raises small requests to its minimum). */
  readonly ttlSeconds: number;
  /** Local-clock time the grant request was sent; the lease cannot outlive sentAt + TTL unrenewed. */
  readonly sentAtMs: number;
  readonly header: Header;
}

export interface LeaseTimeToLive {
  /** Remaining seconds, or -1 when the lease does not exist. */
  readonly ttlSeconds: number;
  readonly grantedTtlSeconds: number;
  readonly keys: Uint8Array[];
}

export interface MemberInfo {
  readonly id: bigint;
  readonly name: string;
  readonly peerUrls: string[];
  readonly clientUrls: string[];
  readonly isLearner: boolean;
}

export interface EndpointHealth {
  readonly endpoint: string;
  readonly healthy: boolean;
  /** The leader the endpoint reports, 0n when none or unreachable. */
  readonly leader: bigint;
  /** Local time the check took. */
  readonly tookMs: number;
  /** Why the endpoint is unhealthy. */
  readonly error?: string;
}

export interface StatusInfo {
  readonly header: Header;
  readonly version: string;
  readonly leader: bigint;
  readonly raftIndex: bigint;
  /** Highest index applied to the store (etcd 3.4+; 0n from older servers). */
  readonly raftAppliedIndex: bigint;
  readonly raftTerm: bigint;
  readonly dbSize: bigint;
  readonly errors: string[];
  readonly isLearner: boolean;
}

export class Client implements KvExecutor, AsyncDisposable {
  readonly namespace: Namespace;
  readonly clock: Clock;
  readonly logger: Logger;
  private readonly pool: EndpointPool;
  private readonly transport: Transport;
  private readonly lifetime = new AbortController();
  private readonly watches: WatchHub;
  private readonly keepAlives: KeepAliveHub;
  private readonly closeHooks = new Set<() => Promise<void>>();
  private readonly watchBufferEvents: number;
  private closing: Promise<void> | undefined;
  private readonly authSession: AuthSession | undefined;
  /** etcd's Auth API: users, roles, permissions, enable/disable. */
  readonly auth: AuthAdmin;

  constructor(options: ClientOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'an options object is required');
    if (options.endpoints !== undefined && !Array.isArray(options.endpoints)) throw new InvalidOptionError('endpoints', 'must be an array of host:port strings');
    if (options.embedded !== undefined && !Array.isArray(options.embedded)) throw new InvalidOptionError('embedded', 'must be an array of embedded members');
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.namespace = new Namespace(options.namespace ?? '');
    const callTimeoutMs = requireInteger('callTimeoutMs', options.callTimeoutMs ?? 5_000, 1);
    const retry: RetryPolicy = {
      retries: requireInteger('retry.retries', options.retry?.retries ?? 4, 0, 100),
      minDelayMs: requireInteger('retry.minDelayMs', options.retry?.minDelayMs ?? 50, 0),
      maxDelayMs: requireInteger('retry.maxDelayMs', options.retry?.maxDelayMs ?? 1_000, 0),
    };
    this.watchBufferEvents = requireInteger('watchBufferEvents', options.watchBufferEvents ?? 10_000, 1);
    if (options.tls !== undefined && options.credentials !== undefined) throw new InvalidOptionError('tls', 'give tls or credentials, not both');
    this.pool = new EndpointPool({
      endpoints: options.endpoints ?? [],
      ...(options.embedded === undefined ? {} : { embedded: options.embedded }),
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      ...(options.tls === undefined ? {} : { tls: tlsMaterial(options.tls) }),
      ...(options.transport === undefined ? {} : { transport: options.transport }),
      keepAliveIntervalMs: requireInteger('keepAliveIntervalMs', options.keepAliveIntervalMs ?? 10_000, 5_000),
      keepAliveTimeoutMs: requireInteger('keepAliveTimeoutMs', options.keepAliveTimeoutMs ?? 5_000, 100),
      maxReceiveMessageBytes: requireInteger('maxReceiveMessageBytes', options.maxReceiveMessageBytes ?? 64 * 1024 * 1024, 1024),
    });
    this.authSession = options.auth === undefined ? undefined : new AuthSession(validateCredentials(options.auth), (name, password, signal) => this.auth.authenticate(name, password, signal === undefined ? {} : { signal }));
    this.transport = new Transport({ pool: this.pool, clock: this.clock, callTimeoutMs, retry, lifetime: this.lifetime.signal, ...(this.authSession === undefined ? {} : { auth: this.authSession }) });
    this.auth = new AuthAdmin(this.transport);
    const session = this.authSession;
    this.watches = new WatchHub(this.transport, this.clock, this.namespace, this.logger, session === undefined ? undefined : () => session.refresh());
    this.keepAlives = new KeepAliveHub(this.transport, this.clock, this.logger);
  }

  /** Aborts when the client is closed or destroyed. */
  get signal(): AbortSignal {
    return this.lifetime.signal;
  }

  /** The configured endpoints as `host:port`. */
  get endpoints(): string[] {
    return this.pool.addresses();
  }

  // ------------------------------------------------------------------ KV

  /** A range read of `key` (add `.prefix()`, `.limit()`, ... before awaiting). */
  get(key: Key): RangeBuilder {
    return new RangeBuilder(this, key);
  }

  /** Every key starting with `prefix`. */
  getPrefix(prefix: Key): RangeBuilder {
    return new RangeBuilder(this, prefix).prefix();
  }

  put(key: Key, value: Key): PutBuilder {
    return new PutBuilder(this, key, value);
  }

  delete(key: Key): DeleteBuilder {
    return new DeleteBuilder(this, key);
  }

  txn(): TxnBuilder {
    return new TxnBuilder(this);
  }

  /** Drops history before `revision`. */
  async compact(revision: bigint, options: CallOptions & { physical?: boolean } = {}): Promise<Header> {
    const request = create(CompactionRequestSchema, { revision, physical: options.physical ?? false });
    const response = await this.transport.unary(KV.method.compact, request, false, options);
    return fromWireHeader(response.header);
  }

  execRange(spec: RangeSpec, options: CallOptions): Promise<RangeResult> {
    return this.transport.unary(KV.method.range, rangeToWire(spec, this.namespace), true, options)
      .then((response) => rangeFromWire(response, this.namespace));
  }

  execPut(spec: PutSpec, options: CallOptions): Promise<PutResult> {
    return this.transport.unary(KV.method.put, putToWire(spec, this.namespace), false, options)
      .then((response) => putFromWire(response, this.namespace));
  }

  execDelete(spec: DeleteSpec, options: CallOptions & { idempotent?: boolean }): Promise<DeleteResult> {
    return this.transport.unary(KV.method.deleteRange, deleteToWire(spec, this.namespace), options.idempotent ?? false, options)
      .then((response) => deleteFromWire(response, this.namespace));
  }

  /** Runs a txn; it is retried on transient errors only when all its ops are reads. */
  execTxn(spec: TxnSpec, options: CallOptions): Promise<TxnResult> {
    const readOnly = isReadOnly(spec.success) && isReadOnly(spec.failure);
    return this.transport.unary(KV.method.txn, txnToWire(spec, this.namespace), readOnly, options)
      .then((response) => txnFromWire(response, this.namespace));
  }

  /**
   * Deletes exactly one key, retrying on transient errors. Only for keys no other party can
   * recreate in between (e.g. a key under our own lease), where repeating cannot hurt.
   */
  deleteOwnKey(key: Key, options: CallOptions = {}): Promise<DeleteResult> {
    return this.execDelete({ type: 'delete', key: toBytes(key), rangeEnd: new Uint8Array(0), prevKv: false }, { ...options, idempotent: true });
  }

  // ------------------------------------------------------------------ Watch

  /** Watches a key or range; iterate the result (`for await`) to receive events in order. */
  watch(key: Key, options: WatchOptions = {}): Watcher {
    const keyBytes = toBytes(key);
    const rangeEnd = options.prefix === true ? prefixEnd(keyBytes) : options.rangeEnd === undefined ? new Uint8Array(0) : toBytes(options.rangeEnd);
    if (options.startRevision !== undefined && options.startRevision < 1n) {
      throw new InvalidOptionError('startRevision', 'must be at least 1 (omit it to watch from now)');
    }
    const watcher = new Watcher(
      keyBytes.length === 0 ? new Uint8Array([0]) : keyBytes, rangeEnd, options.prevKv ?? false, options.noPut ?? false,
      options.noDelete ?? false, options.startRevision ?? 0n, this.watchBufferEvents, this.watches, options.signal,
    );
    // A stream carries the token it opened with: log in first when no token is held yet.
    if (this.authSession !== undefined && this.authSession.current === undefined) {
      this.authSession.get().then(() => this.watches.add(watcher), (error: unknown) => watcher.fail(error));
    } else this.watches.add(watcher);
    return watcher;
  }

  // ------------------------------------------------------------------ Lease

  async leaseGrant(ttlSeconds: number, options: CallOptions = {}): Promise<LeaseGrant> {
    requireInteger('ttlSeconds', ttlSeconds, 1, 9_000_000_000);
    const sentAtMs = this.clock.nowMs();
    const response = await this.transport.unary(Lease.method.leaseGrant, create(LeaseGrantRequestSchema, { TTL: BigInt(ttlSeconds) }), false, options);
    return { id: response.ID, ttlSeconds: Number(response.TTL), sentAtMs, header: fromWireHeader(response.header) };
  }

  /** Revokes a lease and deletes its keys. Retried on transient errors (revoking twice is harmless). */
  async leaseRevoke(leaseId: bigint, options: CallOptions = {}): Promise<Header> {
    const response = await this.transport.unary(Lease.method.leaseRevoke, create(LeaseRevokeRequestSchema, { ID: leaseId }), true, options);
    return fromWireHeader(response.header);
  }

  async leaseTimeToLive(leaseId: bigint, options: CallOptions & { keys?: boolean } = {}): Promise<LeaseTimeToLive> {
    const request = create(LeaseTimeToLiveRequestSchema, { ID: leaseId, keys: options.keys ?? false });
    const response = await this.transport.unary(Lease.method.leaseTimeToLive, request, true, options);
    return { ttlSeconds: Number(response.TTL), grantedTtlSeconds: Number(response.grantedTTL), keys: response.keys.map((k) => this.namespace.strip(k)) };
  }

  async leases(options: CallOptions = {}): Promise<bigint[]> {
    const response = await this.transport.unary(Lease.method.leaseLeases, create(LeaseLeasesRequestSchema, {}), true, options);
    return response.leases.map((lease) => lease.ID);
  }

  /**
   * Keeps `leaseId` alive on the client's shared keep-alive stream (low level: `Lease` and
   * `Session` in the lease module build on it).
   */
  keepAlive(grant: Pick<LeaseGrant, 'id' | 'ttlSeconds' | 'sentAtMs'>, listener: KeepAliveListener): KeepAliveRegistration {
    if (this.lifetime.signal.aborted) throw new ClientClosedError(this.lifetime.signal.reason);
    return this.keepAlives.register(grant.id, grant.ttlSeconds, grant.sentAtMs, listener);
  }

  // ------------------------------------------------------------------ Cluster, maintenance

  async memberList(options: CallOptions = {}): Promise<MemberInfo[]> {
    const response = await this.transport.unary(Cluster.method.memberList, create(MemberListRequestSchema, {}), true, options);
    return response.members.map((m) => ({ id: m.ID, name: m.name, peerUrls: m.peerURLs, clientUrls: m.clientURLs, isLearner: m.isLearner }));
  }

  /** Status of the member the client currently talks to. */
  async status(options: CallOptions = {}): Promise<StatusInfo> {
    const r = await this.transport.unary(Maintenance.method.status, create(StatusRequestSchema, {}), true, options);
    return { header: fromWireHeader(r.header), version: r.version, leader: r.leader, raftIndex: r.raftIndex, raftAppliedIndex: r.raftAppliedIndex, raftTerm: r.raftTerm, dbSize: r.dbSize, errors: r.errors, isLearner: r.isLearner };
  }

  /**
   * Checks every endpoint on its own (a Status call, then a linearizable read of the key
   * `health`, as `etcdctl endpoint health` does): reachable, has a leader, serves reads.
   */
  async health(options: CallOptions = {}): Promise<EndpointHealth[]> {
    const addresses = this.pool.addresses();
    return Promise.all(addresses.map(async (endpoint, endpointIndex) => {
      const startedAt = this.clock.nowMs();
      try {
        const status = await this.transport.unary(Maintenance.method.status, create(StatusRequestSchema, {}), false, { ...options, endpointIndex });
        const read = create(RangeRequestSchema, { key: this.namespace.key(toBytes('health')) });
        await this.transport.unary(KV.method.range, read, false, { ...options, endpointIndex });
        const healthy = status.leader !== 0n && status.errors.length === 0;
        return { endpoint, healthy, leader: status.leader, tookMs: this.clock.nowMs() - startedAt, ...(healthy ? {} : { error: status.leader === 0n ? 'no leader' : status.errors.join('; ') }) };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return { endpoint, healthy: false, leader: 0n, tookMs: this.clock.nowMs() - startedAt, error: message };
      }
    }));
  }

  // ------------------------------------------------------------------ Lifecycle

  /** Registers work for `close()` to do before the connections go (e.g. revoking a lease). */
  onClose(hook: () => Promise<void>): () => void {
    this.closeHooks.add(hook);
    return () => this.closeHooks.delete(hook);
  }

  /**
   * Asks the server to report watch progress: watchers that have caught up move their resume
   * point to the current revision (useful before a planned disconnect).
   */
  requestWatchProgress(): void {
    this.watches.requestProgress();
  }

  /** For tests and fault drills: breaks the shared watch and keep-alive streams. */
  interruptStreams(): void {
    this.watches.interrupt();
    this.keepAlives.interrupt();
  }

  /** Streams opened so far (watch, keep-alive), for diagnostics. */
  streamStats(): { watchStreams: number; keepAliveStreams: number; watchers: number; keptAlive: number } {
    return { watchStreams: this.watches.streamsOpened, keepAliveStreams: this.keepAlives.streamsOpened, watchers: this.watches.size, keptAlive: this.keepAlives.size };
  }

  /** Drains calls in flight, runs close hooks (sessions revoke their leases), then disconnects. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.transport.drain();
      await Promise.allSettled([...this.closeHooks].map((hook) => hook()));
      this.closeHooks.clear();
      this.shutdown(new ClientClosedError());
    })();
    return this.closing;
  }

  /** Aborts every call, watch and keep-alive at once with `reason`; nothing is revoked. */
  destroy(reason?: unknown): void {
    this.closing ??= Promise.resolve();
    this.shutdown(reason ?? new ClientClosedError());
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private shutdown(reason: unknown): void {
    if (this.lifetime.signal.aborted) return;
    this.lifetime.abort(reason);
    this.watches.stop(reason);
    this.keepAlives.stop();
    this.pool.close();
  }

}

export { FROM_KEY };
