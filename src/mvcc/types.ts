/**
 * The MVCC request and response shapes: etcd's KV messages with our types (Uint8Array
 * for bytes, number for revisions, bigint for lease ids). The server maps protobuf to these.
 */
export interface KeyValue {
  readonly key: Uint8Array;
  readonly createRevision: number;
  readonly modRevision: number;
  /** 1 at creation, +1 per put, 0 in a delete event. */
  readonly version: number;
  readonly value: Uint8Array;
  /** 0n when no lease is attached. */
  readonly lease: bigint;
}

export type EventType = 'put' | 'delete';

export interface MvccEvent {
  readonly type: EventType;
  /** For a delete: the key, with modRevision = the deletion revision and zeroes elsewhere. */
  readonly kv: KeyValue;
  readonly prevKv?: KeyValue;
}

export type SortOrder = 'none' | 'ascend' | 'descend';
export type SortTarget = 'key' | 'version' | 'create' | 'mod' | 'value';

export interface RangeRequest {
  readonly key: Uint8Array;
  /** Empty or absent: `key` only; [0]: every key >= key; otherwise [key, rangeEnd). */
  readonly rangeEnd?: Uint8Array;
  readonly limit?: number;
  /** <= 0 or absent: the current revision. */
  readonly revision?: number;
  readonly sortOrder?: SortOrder;
  readonly sortTarget?: SortTarget;
  readonly keysOnly?: boolean;
  readonly countOnly?: boolean;
  readonly minModRevision?: number;
  readonly maxModRevision?: number;
  readonly minCreateRevision?: number;
  readonly maxCreateRevision?: number;
}

export interface RangeResponse {
  /** Header revision: the current store revision, even for a historical read. */
  readonly revision: number;
  readonly kvs: KeyValue[];
  readonly more: boolean;
  /** Keys in the range at that revision, ignoring limit and the min/max filters. */
  readonly count: number;
}

export interface PutRequest {
  readonly key: Uint8Array;
  readonly value?: Uint8Array;
  readonly lease?: bigint;
  readonly prevKv?: boolean;
  readonly ignoreValue?: boolean;
  readonly ignoreLease?: boolean;
}

export interface PutResponse {
  readonly revision: number;
  readonly prevKv?: KeyValue;
}

export interface DeleteRangeRequest {
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
  readonly prevKv?: boolean;
}

export interface DeleteRangeResponse {
  readonly revision: number;
  readonly deleted: number;
  readonly prevKvs: KeyValue[];
}

export type CompareResult = 'equal' | 'greater' | 'less' | 'not_equal';

interface CompareBase {
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
  readonly result: CompareResult;
}

export type Compare =
  | (CompareBase & { readonly target: 'version'; readonly version: number })
  | (CompareBase & { readonly target: 'create'; readonly createRevision: number })
  | (CompareBase & { readonly target: 'mod'; readonly modRevision: number })
  | (CompareBase & { readonly target: 'value'; readonly value: Uint8Array })
  | (CompareBase & { readonly target: 'lease'; readonly lease: bigint });

export type RequestOp =
  | { readonly range: RangeRequest }
  | { readonly put: PutRequest }
  | { readonly deleteRange: DeleteRangeRequest }
  | { readonly txn: TxnRequest };

export type ResponseOp =
  | { readonly range: RangeResponse }
  | { readonly put: PutResponse }
  | { readonly deleteRange: DeleteRangeResponse }
  | { readonly txn: TxnResponse };

export interface TxnRequest {
  readonly compare?: readonly Compare[];
  readonly success?: readonly RequestOp[];
  readonly failure?: readonly RequestOp[];
}

export interface TxnResponse {
  readonly revision: number;
  readonly succeeded: boolean;
  readonly responses: ResponseOp[];
}

export interface CompactResponse {
  readonly revision: number;
}

/** Where a request sits in the raft log; persisted with the state it produced. */
export interface AppliedPosition {
  readonly index: number;
  readonly term: number;
}

export interface HashKvResult {
  readonly hash: number;
  readonly compactRevision: number;
  readonly hashRevision: number;
  /** Header revision: the current store revision. */
  readonly revision: number;
}
