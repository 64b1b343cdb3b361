/**
 * The shapes calls resolve to. Keys and values stay bytes (`keyBytes`, `valueBytes`) with
 * UTF-8 string views (`key`, `value`); every 64-bit number (revisions, versions, lease ids)
 * is a bigint. Keys are already stripped of the client's namespace.
 */
import type { KeyValue as WireKeyValue } from '../gen/mvccpb/kv_pb.js';
import type { ResponseHeader as WireHeader } from '../gen/etcdserverpb/rpc_pb.js';
import { bytesToString } from './keys.js';
import type { Namespace } from './keys.js';

export class KeyValue {
  constructor(
    readonly keyBytes: Uint8Array,
    readonly valueBytes: Uint8Array,
    /** Revision of the key's last creation; the fencing token of lock and election keys. */
    readonly createRevision: bigint,
    readonly modRevision: bigint,
    /** 1 at creation, +1 per put. */
    readonly version: bigint,
    /** Attached lease id, 0n when none. */
    readonly lease: bigint,
  ) {}

  get key(): string {
    return bytesToString(this.keyBytes);
  }

  get value(): string {
    return bytesToString(this.valueBytes);
  }

  /** The value parsed as JSON. */
  json<T = unknown>(): T {
    return JSON.parse(this.value) as T;
  }
}

export interface Header {
  readonly clusterId: bigint;
  readonly memberId: bigint;
  /** Store revision when the call was served. */
  readonly revision: bigint;
  readonly raftTerm: bigint;
}

export interface RangeResult {
  readonly header: Header;
  readonly kvs: KeyValue[];
  /** True when `limit` cut the result short. */
  readonly more: boolean;
  /** Keys in the range, ignoring limit and filters. */
  readonly count: bigint;
}

export interface PutResult {
  readonly header: Header;
  readonly prevKv: KeyValue | undefined;
}

export interface DeleteResult {
  readonly header: Header;
  readonly deleted: bigint;
  readonly prevKvs: KeyValue[];
}

export type OpResult =
  | { readonly type: 'range'; readonly result: RangeResult }
  | { readonly type: 'put'; readonly result: PutResult }
  | { readonly type: 'delete'; readonly result: DeleteResult }
  | { readonly type: 'txn'; readonly result: TxnResult };

export interface TxnResult {
  readonly header: Header;
  /** Whether every compare held (the `do` branch ran) or not (the `else` branch ran). */
  readonly succeeded: boolean;
  readonly results: OpResult[];
}

export const emptyHeader: Header = { clusterId: 0n, memberId: 0n, revision: 0n, raftTerm: 0n };

export function fromWireHeader(header: WireHeader | undefined): Header {
  if (header === undefined) return emptyHeader;
  return { clusterId: header.clusterId, memberId: header.memberId, revision: header.revision, raftTerm: header.raftTerm };
}

export function fromWireKv(kv: WireKeyValue, namespace: Namespace): KeyValue {
  return new KeyValue(namespace.strip(kv.key), kv.value, kv.createRevision, kv.modRevision, kv.version, kv.lease);
}
