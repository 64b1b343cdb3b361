/**
 * `conclave`: the SDK. An etcd v3 client and the coordination primitives built on it, working
 * the same against a Conclave cluster and a real etcd 3.4+ cluster.
 *
 *   import { Client, Mutex, Election } from 'conclave';
 *   const client = new Client({ endpoints: ['127.0.0.1:2379'] });
 *   const session = await client.session({ ttlSeconds: 10 });
 *   await using lock = await new Mutex(session, 'orders').lock({ signal });
 */
import { Client as CoreClient } from './client/index.js';
import { Lease, Session } from './lease/index.js';
import type { LeaseOptions, SessionOptions } from './lease/index.js';

/** The etcd v3 client, with shortcuts for sessions and leases. */
export class Client extends CoreClient {
  /** Grants a lease and keeps it alive until the session (or this client) is closed. */
  session(options: SessionOptions = {}): Promise<Session> {
    return Session.create(this, options);
  }

  /** Grants a lease kept alive on this client's shared keep-alive stream. */
  lease(options: LeaseOptions): Promise<Lease> {
    return Lease.grant(this, options);
  }
}

export {
  compare, RangeBuilder, PutBuilder, DeleteBuilder, TxnBuilder, KeyValue, Watcher, LeaseLostError, EtcdError,
  WatchCompactedError, ClientClosedError, CallTimeoutError, GrpcStatus, prefixEnd, Namespace, PermissionDeniedError, AuthAdmin,
} from './client/index.js';
export type {
  ClientOptions, TlsOptions, NetworkTransport, WatchOptions, LeaseGrant, LeaseTimeToLive, MemberInfo, StatusInfo, EndpointHealth, OpLike, CompareSpec, CompareOperator,
  CompareTarget, OpSpec, Header, RangeResult, PutResult, DeleteResult, TxnResult, OpResult, WatchEvent, Key, CallOptions,
  RetryPolicy, SortOrder, SortTarget, RangeSpec, PutSpec, DeleteSpec, TxnSpec, KeepAliveRegistration, KeepAliveListener,
  KvExecutor, WatchTarget, WatcherHooks, EmbeddedMember, StreamLike, ReadableLike, Metadata, Channel,
  AuthCredentials, AuthStatus, Permission, PermissionSpec, PermissionType,
} from './client/index.js';
/** The client core without the session shortcuts (what the recipes accept). */
export { Client as BaseClient } from './client/index.js';
export { Lease, Session };
export type { LeaseOptions, SessionOptions };
export {
  Mutex, RWMutex, Semaphore, HeldLock, FencingGuard, LockTimeoutError, SessionExpiredError, LockLostError, LockReleasedError, LockHoldExpiredError, StaleTokenError,
} from './lock/index.js';
export type { LockEntry, LockHolder, LockSnapshot, LockOptions, MutexOptions, HandoffInfo, BoundedHoldOptions, ExpiryWarning, FencingGuardOptions, HeldLockInit } from './lock/index.js';
export { Election, Leadership } from './election/index.js';
export type { CampaignOptions, LeaderInfo, Candidate } from './election/index.js';
export { ConclaveError, InvalidOptionError, FakeClock, SeededRandom, systemClock, silentLogger } from './base/index.js';
export type { Clock, Logger, LogFields, Random } from './base/index.js';
export { ServiceRegistry, Registration, ServiceDiscovery, Picker } from './discovery/index.js';
export type { RegisterOptions, HealthCheck, ListOptions, PickerOptions, PickStrategy, ServiceInstance } from './discovery/index.js';
export { Barrier, DoubleBarrier, BarrierError } from './barrier/index.js';
export { stm, stmWithResult, Counter, StmConflictError, CounterValueError } from './stm/index.js';
export type { StmIsolation, StmOptions, StmTx, StmResult, CounterOptions } from './stm/index.js';
export { Queue, PriorityQueue, QueueConsumer, Delivery, DeliveryExpiredError } from './queue/index.js';
export type { ReceiveOptions } from './queue/index.js';
export { onConclaveEvent } from './telemetry/index.js';
export type { ConclaveEvent, LockKind, LossCause } from './telemetry/index.js';
