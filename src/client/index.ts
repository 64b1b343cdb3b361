/** The etcd v3 client core: the public surface other folders and users may import. */
export { Client } from './client.js';
export type { ClientOptions, WatchOptions, LeaseGrant, LeaseTimeToLive, MemberInfo, StatusInfo, EndpointHealth } from './client.js';
export { RangeBuilder, PutBuilder, DeleteBuilder, TxnBuilder } from './kv.js';
export type { OpLike, KvExecutor } from './kv.js';
export { compare } from './ops.js';
export type { CompareSpec, CompareOperator, CompareTarget, OpSpec, RangeSpec, PutSpec, DeleteSpec, TxnSpec, SortOrder, SortTarget } from './ops.js';
export { KeyValue } from './results.js';
export type { Header, RangeResult, PutResult, DeleteResult, TxnResult, OpResult } from './results.js';
export { Watcher } from './watcher.js';
export type { WatchEvent, WatchTarget, WatcherHooks } from './watcher.js';
export { LeaseLostError } from './keepalive-hub.js';
export type { KeepAliveListener, KeepAliveRegistration } from './keepalive-hub.js';
export { EtcdError, WatchCompactedError, ClientClosedError, CallTimeoutError, GrpcStatus, fromGrpcError, codeForEtcdMessage } from './errors.js';
export { prefixEnd, toBytes, bytesToString, Namespace, FROM_KEY } from './keys.js';
export type { Key } from './keys.js';
export type { CallOptions, RetryPolicy } from './transport.js';
export { methodPath, codecFor } from './grpc-adapter.js';
export type { EmbeddedMember, StreamLike, ReadableLike, Metadata, Channel } from './channel.js';
