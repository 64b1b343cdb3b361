/**
 * The server side of etcd's concurrency recipes (what etcd's v3lock and v3election servers
 * run through its client): keys `<name>/<lease id in hex>` attached to the caller's lease,
 * ordered by create revision; a waiter watches only its immediate predecessor for a delete,
 * so there is no herd. Reads are linearizable (read barrier first); writes are proposed for
 * the recipe call's caller (RecipeCall), so the applier checks them against that user.
 */
import { create } from '@bufbuild/protobuf';
import { toHex } from '../../base/int64.js';
import {
  Compare_CompareResult, Compare_CompareTarget, CompareSchema, DeleteRangeRequestSchema, LeaseGrantRequestSchema, PutRequestSchema, RangeRequestSchema,
  RequestOpSchema, TxnRequestSchema,
} from '../../gen/etcdserverpb/rpc_pb.js';
import type * as pb from '../../gen/etcdserverpb/rpc_pb.js';
import type { KeyValue, RangeResponse, TxnResponse } from '../../mvcc/types.js';
import type { CallIdentity } from '../auth/caller.js';
import type { ApiLimits } from './kv-service.js';
import type { ServerPort } from './ports.js';
import { propose, proposeKv } from './proposal.js';

/** The recipe key of lease `lease` under `name`: name + "/" + lower-case hex id. */
export function recipeKey(name: Uint8Array, lease: bigint): Uint8Array {
  return Buffer.concat([name, Buffer.from(`/${toHex(lease)}`, 'latin1')]);
}

/** The end of the prefix range of `prefix` (etcd's prefixEnd). */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = Uint8Array.from(prefix);
  for (let i = end.length - 1; i >= 0; i -= 1) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return new Uint8Array([0]);
}

export function withSlash(name: Uint8Array): Uint8Array {
  return Buffer.concat([name, Buffer.from('/', 'latin1')]);
}

/** What a recipe write needs from its call (a CallContext is one): its signal and its caller. */
export interface RecipeCall {
  readonly signal: AbortSignal;
  readonly caller: CallIdentity | undefined;
}

/** `call`'s caller with a signal of its own: clean-up after the call's own signal aborted. */
export function detached(call: RecipeCall): RecipeCall {
  return { signal: new AbortController().signal, caller: call.caller };
}

/** etcd's default session TTL: what a Lock or Campaign without a lease gets. */
export const DEFAULT_SESSION_TTL_SECONDS = 60;

export class Recipes {
  constructor(private readonly port: ServerPort, private readonly limits: ApiLimits) {}

  /**
   * The lease a recipe key is attached to: the caller's, or for lease 0 a new lease of the
   * default session TTL (etcd's server opens a session, which grants one, and orphans it).
   */
  async sessionLease(lease: bigint, call: RecipeCall): Promise<bigint> {
    if (lease !== 0n) return lease;
    const request = { case: 'leaseGrant', value: create(LeaseGrantRequestSchema, { TTL: BigInt(DEFAULT_SESSION_TTL_SECONDS) }) } as const;
    const granted = (await propose(this.port, request, { ...this.limits, signal: call.signal, caller: call.caller })) as { id: bigint };
    return granted.id;
  }

  async read(range: Parameters<ServerPort['store']['range']>[0], signal: AbortSignal): Promise<RangeResponse> {
    await this.port.linearizableReadBarrier(signal);
    return this.port.store.range(range);
  }

  async txn(req: pb.TxnRequest, call: RecipeCall): Promise<TxnResponse> {
    const op = await proposeKv(this.port, { case: 'txn', value: req }, { ...this.limits, signal: call.signal, caller: call.caller });
    if (!('txn' in op)) throw new Error('txn proposal answered with another response');
    return op.txn;
  }

  /** Deletes `key`; returns the delete's header revision. */
  async delete(key: Uint8Array, call: RecipeCall): Promise<number> {
    const op = await proposeKv(this.port, { case: 'deleteRange', value: create(DeleteRangeRequestSchema, { key }) }, { ...this.limits, signal: call.signal, caller: call.caller });
    if (!('deleteRange' in op)) throw new Error('deleteRange proposal answered with another response');
    return op.deleteRange.revision;
  }

  /**
   * If `key` does not exist, put it (with `value` and `lease`); else read it. Returns the
   * txn and the key's create revision (the txn revision when it was created now).
   */
  async createOrGet(key: Uint8Array, value: Uint8Array, lease: bigint, call: RecipeCall): Promise<{ txn: TxnResponse; createRevision: number; existing?: KeyValue }> {
    const txn = await this.txn(create(TxnRequestSchema, {
      compare: [createRevisionIs(key, 0n)],
      success: [putOp(key, value, lease)],
      failure: [create(RequestOpSchema, { request: { case: 'requestRange', value: create(RangeRequestSchema, { key }) } })],
    }), call);
    if (txn.succeeded) return { txn, createRevision: txn.revision };
    const response = txn.responses[0];
    const existing = response !== undefined && 'range' in response ? response.range.kvs[0] : undefined;
    // The key vanished between the compare and now is impossible: the txn read it atomically.
    if (existing === undefined) throw new Error('recipe key missing after a failed create compare');
    return { txn, createRevision: existing.createRevision, existing };
  }

  /** Puts `value` on `key` only if its create revision is still `createRevision`; returns the txn. */
  putIfOwner(key: Uint8Array, createRevision: number, value: Uint8Array, lease: bigint, call: RecipeCall): Promise<TxnResponse> {
    return this.txn(create(TxnRequestSchema, { compare: [createRevisionIs(key, BigInt(createRevision))], success: [putOp(key, value, lease)] }), call);
  }

  /** Deletes `key` only if its create revision is still `createRevision`; returns the txn. */
  deleteIfOwner(key: Uint8Array, createRevision: number, call: RecipeCall): Promise<TxnResponse> {
    return this.txn(create(TxnRequestSchema, {
      compare: [createRevisionIs(key, BigInt(createRevision))],
      success: [create(RequestOpSchema, { request: { case: 'requestDeleteRange', value: create(DeleteRangeRequestSchema, { key }) } })],
    }), call);
  }

  /** The oldest key under `prefix` (by create revision), or none, with the read's header revision. */
  async first(prefix: Uint8Array, signal: AbortSignal): Promise<{ kv: KeyValue | undefined; revision: number }> {
    const res = await this.read({ key: prefix, rangeEnd: prefixEnd(prefix), sortTarget: 'create', sortOrder: 'ascend', limit: 1 }, signal);
    return { kv: res.kvs[0], revision: res.revision };
  }

  /**
   * Waits until no key under `prefix` has a create revision <= `maxCreateRevision`: finds the
   * newest such key (the immediate predecessor), waits for its delete, and repeats. Returns
   * the header revision of the last read (which found none) and whether it had to wait.
   */
  async waitDeletes(prefix: Uint8Array, maxCreateRevision: number, signal: AbortSignal): Promise<{ revision: number; waited: boolean }> {
    for (let waited = false; ; waited = true) {
      const res = await this.read({ key: prefix, rangeEnd: prefixEnd(prefix), sortTarget: 'create', sortOrder: 'descend', limit: 1, maxCreateRevision }, signal);
      const predecessor = res.kvs[0];
      if (predecessor === undefined) return { revision: res.revision, waited };
      await this.waitDelete(predecessor.key, res.revision + 1, signal);
    }
  }

  /** Resolves at the first delete of `key` at or after `fromRevision` (or when that history was compacted away). */
  async waitDelete(key: Uint8Array, fromRevision: number, signal: AbortSignal): Promise<void> {
    const watcher = this.port.watchable.watch({ key, startRevision: fromRevision, noPut: true });
    try {
      for (;;) {
        const response = await watcher.next(signal);
        // Ended or compacted: the caller reads again and decides.
        if (response === undefined || response.canceled) return;
        if (response.events.some((event) => event.type === 'delete')) return;
      }
    } finally {
      watcher.cancel();
    }
  }

  /** Yields every response for puts and deletes of `key` or `prefix` from `fromRevision` until aborted. */
  watch(key: Uint8Array, rangeEnd: Uint8Array | undefined, fromRevision: number) {
    return this.port.watchable.watch({ key, ...(rangeEnd === undefined ? {} : { rangeEnd }), startRevision: fromRevision });
  }
}

function createRevisionIs(key: Uint8Array, revision: bigint): pb.Compare {
  return create(CompareSchema, { key, target: Compare_CompareTarget.CREATE, result: Compare_CompareResult.EQUAL, targetUnion: { case: 'createRevision', value: revision } });
}

function putOp(key: Uint8Array, value: Uint8Array, lease: bigint): pb.RequestOp {
  return create(RequestOpSchema, { request: { case: 'requestPut', value: create(PutRequestSchema, { key, value, lease }) } });
}
