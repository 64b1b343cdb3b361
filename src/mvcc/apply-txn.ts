import { assert } from '../base/assert.js';
import type { BackendOp } from '../storage/backend/backend.js';
import { type ByteString, toByteString } from '../storage/backend/bytes.js';
import { CompactedError, FutureRevisionError, InvalidRequestError, KeyNotFoundError, LeaseNotFoundError } from './errors.js';
import { KeyIndex } from './key-index.js';
import { entriesIn, resolveRange } from './key-range.js';
import { encodeKeyValue } from './kv-codec.js';
import type { WriteRequest } from './kv-store.js';
import type { StoreState } from './store-state.js';
import { encodeMeta, META_APPLIED, META_COMPACT } from './meta.js';
import { executeRange, type ReadView } from './range.js';
import { revKey, revKeyStart } from './revision.js';
import { evaluateCompare, validateRequest } from './txn-rules.js';
import type {
  AppliedPosition, DeleteRangeRequest, DeleteRangeResponse, KeyValue, MvccEvent, PutRequest, PutResponse,
  RangeRequest, RangeResponse, RequestOp, ResponseOp, TxnRequest, TxnResponse,
} from './types.js';

/** Which branch each (nested) txn takes, decided before anything runs. */
interface TxnPath {
  readonly succeeded: boolean;
  /** For each nested txn op of the taken branch, by op index. */
  readonly nested: Map<number, TxnPath>;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
const EMPTY = new Uint8Array(0);

/**
 * The writes of one raft entry. Every change gets the same main revision (current + 1)
 * and its own sub revision; the store revision moves only if something changed. `end()`
 * writes all backend ops plus the entry's position in one atomic backend write, then tells
 * the listeners (the watchable store). A request is checked completely before its first
 * change, so an EtcdRequestError never leaves half a request applied.
 */
export class ApplyTxn {
  readonly main: number;
  private sub = 0;
  private readonly ops: BackendOp[] = [];
  private readonly events: MvccEvent[] = [];
  /** KeyValues written by this txn, by revision key, so later ops read them before the backend has. */
  private readonly written = new Map<ByteString, KeyValue>();
  /** Response headers to fill with the final revision at the end. */
  private readonly headers: Array<Mutable<{ revision: number }>> = [];
  private compactedTo = 0;
  private ended = false;

  /** @internal Created by MvccStore.beginApply. */
  constructor(private readonly store: StoreState, readonly position: AppliedPosition) {
    this.main = store.currentRev + 1;
  }

  /** Whether this entry has changed the key space so far. */
  get changed(): boolean {
    return this.events.length > 0;
  }

  execute(request: WriteRequest): ResponseOp | { compact: { revision: number } } {
    this.checkOpen();
    if ('compact' in request) {
      this.compact(request.compact.revision);
      return { compact: this.header({ revision: 0 }) };
    }
    validateRequest(request, this.store.maxTxnOps);
    if ('txn' in request) return { txn: this.txn(request.txn) };
    this.checkOps([request]);
    return this.runOp(request);
  }

  /** Runs a txn: compares first (all against the state before the txn), then the taken branch. */
  txn(req: TxnRequest): TxnResponse {
    const path = this.decide(req);
    this.checkOps(branch(req, path.succeeded), path);
    return this.runTxn(req, path);
  }

  /** Deletes `keys` (those that exist) in this revision, in key order: the lessor's revoke. */
  deleteKeys(keys: Iterable<ByteString>): number {
    this.checkOpen();
    let deleted = 0;
    for (const key of [...keys].sort()) {
      const ki = this.store.index.get(key);
      if (ki?.latest() !== undefined) {
        this.tombstone(ki);
        deleted += 1;
      }
    }
    return deleted;
  }

  /** Adds a raw backend op to this entry's atomic write (the lessor's lease records). */
  writeAux(op: BackendOp): void {
    this.checkOpen();
    assert(op.bucket !== 'key', 'auxiliary writes may not touch the key bucket');
    this.ops.push(op);
  }

  /** @internal After an EtcdRequestError: asserts the failed request changed nothing. */
  abandonChanges(): void {
    assert(this.events.length === 0 && this.ops.length === 0, 'a failed request left changes behind');
  }

  end(): void {
    this.checkOpen();
    this.ended = true;
    const store = this.store;
    const finalRev = this.changed ? this.main : store.currentRev;
    for (const header of this.headers) header.revision = finalRev;
    this.ops.push({ bucket: 'meta', key: META_APPLIED, value: encodeMeta(this.position) });
    store.backend.write(this.ops);
    store.currentRev = finalRev;
    store.applied = this.position;
    if (this.changed) for (const listener of store.listeners) listener.onCommit(finalRev, this.events);
    if (this.compactedTo > 0) for (const listener of store.listeners) listener.onCompact(this.compactedTo);
  }

  // ---- reads ----

  private view(): ReadView {
    return {
      index: this.store.index,
      viewRevision: this.changed ? this.main : this.store.currentRev,
      compactRevision: this.store.compactRev,
      readKv: (main, sub) => this.readKv(main, sub),
    };
  }

  private readKv(main: number, sub: number): KeyValue {
    return this.written.get(revKey(main, sub)) ?? this.store.readKv(main, sub);
  }

  private latestKv(key: ByteString): KeyValue | undefined {
    const at = this.store.index.get(key)?.latest();
    return at === undefined ? undefined : this.readKv(at.modMain, at.modSub);
  }

  /** Live KeyValues of a key or range now. */
  private liveKvs(key: Uint8Array, rangeEnd: Uint8Array | undefined): KeyValue[] {
    const out: KeyValue[] = [];
    for (const ki of entriesIn(this.store.index, resolveRange(key, rangeEnd))) {
      const at = ki.latest();
      if (at !== undefined) out.push(this.readKv(at.modMain, at.modSub));
    }
    return out;
  }

  // ---- checks before any change ----

  private decide(req: TxnRequest): TxnPath {
    const succeeded = (req.compare ?? []).every((c) => evaluateCompare(c, this.liveKvs(c.key, c.rangeEnd)));
    const nested = new Map<number, TxnPath>();
    branch(req, succeeded).forEach((op, i) => {
      if ('txn' in op) nested.set(i, this.decide(op.txn));
    });
    return { succeeded, nested };
  }

  /**
   * etcd's apply-time checks on the taken path: leases exist, ignore_* keys exist, read
   * revisions valid. `fromKeyDeletes` collects the starts of earlier "from key" deletes of
   * the path: the duplicate-key rule does not see them (as in etcd), so an ignore_* put
   * they would empty first is refused here with KeyNotFound (etcd fails it mid-txn).
   */
  private checkOps(ops: readonly RequestOp[], path?: TxnPath, fromKeyDeletes: string[] = []): void {
    ops.forEach((op, i) => {
      if ('put' in op) {
        const put = op.put;
        const lease = put.lease ?? 0n;
        const key = toByteString(put.key);
        if (!put.ignoreLease && lease !== 0n && !(this.store.leases?.exists(lease) ?? false)) throw new LeaseNotFoundError();
        if ((put.ignoreValue || put.ignoreLease) && (this.latestKv(key) === undefined || fromKeyDeletes.some((start) => key >= start))) throw new KeyNotFoundError();
      } else if ('deleteRange' in op) {
        const end = op.deleteRange.rangeEnd;
        if (end !== undefined && end.length === 1 && end[0] === 0) fromKeyDeletes.push(toByteString(op.deleteRange.key));
      } else if ('range' in op) {
        const rev = op.range.revision ?? 0;
        if (rev > 0 && rev > this.store.currentRev) throw new FutureRevisionError(this.store.currentRev);
        if (rev > 0 && rev < this.store.compactRev) throw new CompactedError(this.store.compactRev);
      } else if ('txn' in op) {
        const nested = path?.nested.get(i);
        assert(nested !== undefined, 'nested txn without a decided path');
        this.checkOps(branch(op.txn, nested.succeeded), nested, fromKeyDeletes);
      }
    });
  }

  // ---- execution ----

  private runTxn(req: TxnRequest, path: TxnPath): TxnResponse {
    const responses: ResponseOp[] = [];
    branch(req, path.succeeded).forEach((op, i) => {
      if ('txn' in op) responses.push({ txn: this.runTxn(op.txn, path.nested.get(i)!) });
      else responses.push(this.runOp(op));
    });
    return this.header({ revision: 0, succeeded: path.succeeded, responses });
  }

  private runOp(op: RequestOp): ResponseOp {
    if ('range' in op) return { range: this.range(op.range) };
    if ('put' in op) return { put: this.put(op.put) };
    if ('deleteRange' in op) return { deleteRange: this.deleteRange(op.deleteRange) };
    throw new InvalidRequestError('nested txn outside a txn path');
  }

  private range(req: RangeRequest): RangeResponse {
    return this.header({ ...executeRange(this.view(), req) });
  }

  private put(req: PutRequest): PutResponse {
    const key = toByteString(req.key);
    let ki = this.store.index.get(key);
    const prev = this.latestKv(key);
    const lease = req.ignoreLease ? (prev?.lease ?? 0n) : (req.lease ?? 0n);
    const value = req.ignoreValue ? (prev?.value ?? EMPTY) : (req.value ?? EMPTY);
    const sub = this.sub++;
    const kv: KeyValue = {
      key: req.key.slice(),
      createRevision: prev === undefined ? this.main : prev.createRevision,
      modRevision: this.main,
      version: prev === undefined ? 1 : prev.version + 1,
      value: value.slice(),
      lease,
    };
    if (ki === undefined) {
      ki = new KeyIndex(key);
      this.store.index.set(key, ki);
    }
    ki.put(this.main, sub);
    const rk = revKey(this.main, sub);
    this.written.set(rk, kv);
    this.ops.push({ bucket: 'key', key: rk, value: encodeKeyValue(kv) });
    this.events.push(prev === undefined ? { type: 'put', kv } : { type: 'put', kv, prevKv: prev });
    if (prev !== undefined && prev.lease !== 0n && prev.lease !== lease) this.store.leases?.detach(prev.lease, key);
    if (lease !== 0n && lease !== prev?.lease) this.store.leases?.attach(lease, key);
    return this.header(req.prevKv && prev !== undefined ? { revision: 0, prevKv: prev } : { revision: 0 });
  }

  private deleteRange(req: DeleteRangeRequest): DeleteRangeResponse {
    const victims: KeyIndex[] = [];
    for (const ki of entriesIn(this.store.index, resolveRange(req.key, req.rangeEnd))) if (ki.latest() !== undefined) victims.push(ki);
    const prevKvs = victims.map((ki) => this.tombstone(ki));
    return this.header({ revision: 0, deleted: victims.length, prevKvs: req.prevKv ? prevKvs : [] });
  }

  /** Deletes one live key at this revision; returns its last KeyValue. */
  private tombstone(ki: KeyIndex): KeyValue {
    const prev = this.latestKv(ki.key)!;
    const sub = this.sub++;
    ki.tombstone(this.main, sub);
    const kv: KeyValue = { key: prev.key, createRevision: 0, modRevision: this.main, version: 0, value: EMPTY, lease: 0n };
    this.ops.push({ bucket: 'key', key: revKey(this.main, sub, true), value: encodeKeyValue(kv) });
    this.events.push({ type: 'delete', kv, prevKv: prev });
    if (prev.lease !== 0n) this.store.leases?.detach(prev.lease, ki.key);
    return prev;
  }

  /** Physically removes history before `revision` (keeping each key's newest revision at or before it). */
  private compact(revision: number): void {
    const store = this.store;
    if (!Number.isSafeInteger(revision) || revision <= store.compactRev) throw new CompactedError(store.compactRev);
    if (revision > store.currentRev) throw new FutureRevisionError(store.currentRev);
    assert(!this.changed, 'compaction must be the only request of its entry');
    const keep = new Set<ByteString>();
    const emptied: ByteString[] = [];
    for (const [key, ki] of store.index.entries()) if (ki.compact(revision, keep)) emptied.push(key);
    for (const key of emptied) store.index.delete(key);
    // Records at the compaction revision itself all stay: its puts are kept anyway, and
    // keeping its tombstones (etcd drops them) lets a watch that starts at the compaction
    // revision, which etcd allows, still see the deletes of that revision.
    for (const [rk] of store.backend.range('key', '', revKeyStart(revision))) {
      if (!keep.has(rk)) this.ops.push({ bucket: 'key', key: rk, value: null });
    }
    this.ops.push({ bucket: 'meta', key: META_COMPACT, value: encodeMeta({ index: revision, term: 0 }) });
    store.compactRev = revision;
    this.compactedTo = revision;
  }

  private header<T extends { revision: number }>(response: T): T {
    this.headers.push(response);
    return response;
  }

  private checkOpen(): void {
    assert(!this.ended, 'ApplyTxn used after end()');
  }
}

function branch(req: TxnRequest, succeeded: boolean): readonly RequestOp[] {
  return (succeeded ? req.success : req.failure) ?? [];
}
