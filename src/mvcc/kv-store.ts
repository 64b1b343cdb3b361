import { assert } from '../base/assert.js';
import { requireInteger } from '../base/validate.js';
import type { Backend } from '../storage/backend/backend.js';
import type { ByteString } from '../storage/backend/bytes.js';
import { crc32c, crc32cOfByteString } from '../storage/crc32c.js';
import { SortedMap } from '../storage/backend/sorted-map.js';
import type { CommitListener, LeaseHooks, StoreState } from './store-state.js';
import { ApplyTxn } from './apply-txn.js';
import { EtcdRequestError } from './errors.js';
import { KeyIndex } from './key-index.js';
import { decodeIndexFields, decodeKeyValue } from './kv-codec.js';
import { decodeMeta, META_APPLIED, META_COMPACT } from './meta.js';
import { executeRange, readRevision, type ReadView } from './range.js';
import { parseRevKey, revKey, revKeyStart } from './revision.js';
import type { AppliedPosition, HashKvResult, KeyValue, MvccEvent, RangeRequest, RangeResponse, RequestOp, ResponseOp } from './types.js';

export type { CommitListener, LeaseHooks } from './store-state.js';

export interface MvccStoreOptions {
  /** etcd's --max-txn-ops (default 128). */
  readonly maxTxnOps?: number;
  readonly leases?: LeaseHooks;
}

/** The result of applying one raft entry: a response, or the etcd error it answers with. */
export type ApplyResult =
  | { readonly kind: 'ok'; readonly response: ResponseOp | { readonly compact: { readonly revision: number } } }
  | { readonly kind: 'error'; readonly error: EtcdRequestError }
  | { readonly kind: 'already-applied' };

export type ApplyWithResult<T> =
  | { readonly kind: 'ok'; readonly value: T }
  | { readonly kind: 'error'; readonly error: EtcdRequestError }
  | { readonly kind: 'already-applied' };

export type WriteRequest = RequestOp | { readonly compact: { readonly revision: number } };

/**
 * The MVCC key space over a Backend: an in-memory key index (rebuilt from the backend on
 * open, as etcd rebuilds its treeIndex) and the revision history in the backend's `key`
 * bucket. Pure: no clock, no I/O of its own. Writes come only through `apply`,
 * `applyWith` or `beginApply`, one raft entry at a time; each persists the entry's position together
 * with the state it produced, and an entry at or below the persisted position is skipped.
 */
export class MvccStore {
  private readonly state: StoreState;

  private constructor(readonly backend: Backend, options: MvccStoreOptions) {
    this.state = {
      backend,
      index: new SortedMap<KeyIndex>(),
      listeners: [],
      maxTxnOps: requireInteger('maxTxnOps', options.maxTxnOps ?? 128, 1, 1_000_000),
      currentRev: 1,
      compactRev: 0,
      applied: { index: 0, term: 0 },
      leases: options.leases,
      readKv: (main, sub) => this.readKv(main, sub),
    };
  }

  /** Opens the store over `backend`, rebuilding the key index from the stored history. */
  static open(backend: Backend, options: MvccStoreOptions = {}): MvccStore {
    const store = new MvccStore(backend, options);
    store.rebuild();
    return store;
  }

  get currentRevision(): number {
    return this.state.currentRev;
  }

  /** Keys in the key index, deleted ones with history included (etcd's keys_total gauge). */
  get indexedKeys(): number {
    return this.state.index.size;
  }

  get compactRevision(): number {
    return this.state.compactRev;
  }

  get appliedPosition(): AppliedPosition {
    return this.state.applied;
  }

  get maxTxnOps(): number {
    return this.state.maxTxnOps;
  }

  /** Installs the lessor's hooks (the lessor is built after the store it restores from). */
  setLeaseHooks(hooks: LeaseHooks): void {
    this.state.leases = hooks;
  }

  addListener(listener: CommitListener): () => void {
    const listeners = this.state.listeners;
    listeners.push(listener);
    return () => {
      const i = listeners.indexOf(listener);
      if (i >= 0) listeners.splice(i, 1);
    };
  }

  /** A read at the current (or a historical) revision. */
  range(req: RangeRequest): RangeResponse {
    return executeRange(this.readView(), req);
  }

  /** The KeyValue stored at a revision (used by watch catch-up and prev_kv). */
  readKv(main: number, sub: number): KeyValue {
    const bytes = this.backend.get('key', revKey(main, sub));
    assert(bytes !== undefined, () => `no stored KeyValue at revision ${main}.${sub}`);
    return decodeKeyValue(bytes);
  }

  private readView(): ReadView {
    const { index, currentRev, compactRev } = this.state;
    return { index, viewRevision: currentRev, compactRevision: compactRev, readKv: (m, s) => this.readKv(m, s) };
  }

  /**
   * Starts applying the raft entry at `position`: undefined if it was applied already.
   * The caller runs requests on the returned txn and must call `end()` (also after an
   * EtcdRequestError, so the entry counts as applied).
   */
  beginApply(position: AppliedPosition): ApplyTxn | undefined {
    requireInteger('position.index', position.index, 1);
    requireInteger('position.term', position.term, 0);
    if (position.index <= this.state.applied.index) return undefined;
    return new ApplyTxn(this.state, position);
  }

  /** Applies one write request carried by the raft entry at `position`. */
  apply(position: AppliedPosition, request: WriteRequest): ApplyResult {
    const result = this.applyWith(position, (txn) => txn.execute(request));
    return result.kind === 'ok' ? { kind: 'ok', response: result.value } : result;
  }

  /**
   * Applies the raft entry at `position` by running `run` on its ApplyTxn (for requests
   * that also touch other state, e.g. the lessor's grant and revoke), then ends it. An
   * EtcdRequestError becomes an error result and the entry still counts as applied.
   */
  applyWith<T>(position: AppliedPosition, run: (txn: ApplyTxn) => T): ApplyWithResult<T> {
    const txn = this.beginApply(position);
    if (txn === undefined) return { kind: 'already-applied' };
    let result: ApplyWithResult<T>;
    try {
      result = { kind: 'ok', value: run(txn) };
    } catch (error) {
      if (!(error instanceof EtcdRequestError)) throw error; // a bug: do not persist anything
      txn.abandonChanges();
      result = { kind: 'error', error };
    }
    txn.end();
    return result;
  }

  /**
   * etcd's HashKV: CRC-32C over the stored history up to `revision` (0: current), which
   * after compaction is exactly the kept revisions; equal on members with equal histories.
   */
  hashKv(revision = 0): HashKvResult {
    const rev = readRevision(this.readView(), revision);
    let hash = 0;
    for (const [key, value] of this.backend.range('key', '', revKeyStart(rev + 1))) {
      hash = crc32cOfByteString(key, hash);
      hash = crc32c(value, hash);
    }
    return { hash, compactRevision: this.state.compactRev, hashRevision: rev, revision: this.state.currentRev };
  }

  /** Every live key with a lease attached (the lessor rebuilds its attachments from this). */
  *leasedKeys(): IterableIterator<[ByteString, bigint]> {
    for (const [key, ki] of this.state.index.entries()) {
      const at = ki.latest();
      if (at === undefined) continue;
      const kv = this.readKv(at.modMain, at.modSub);
      if (kv.lease !== 0n) yield [key, kv.lease];
    }
  }

  /**
   * The events of revisions [fromRev, toRev] from the stored history, in order, with prev_kv
   * when `withPrevKv` and the previous revision is not compacted. Stops early (never inside
   * a revision) once `maxEvents` is reached; returns the next revision to read.
   */
  readEvents(fromRev: number, toRev: number, maxEvents: number, withPrevKv: boolean, accept: (key: ByteString) => boolean): { events: MvccEvent[]; nextRev: number } {
    const { index, compactRev } = this.state;
    assert(fromRev >= compactRev, 'history read below the compaction point');
    const events: MvccEvent[] = [];
    let nextRev = fromRev;
    if (fromRev > toRev) return { events, nextRev };
    let currentMain = fromRev;
    for (const [rk, bytes] of this.backend.range('key', revKeyStart(fromRev), revKeyStart(toRev + 1))) {
      const { main, tombstone } = parseRevKey(rk);
      if (main !== currentMain) {
        if (events.length >= maxEvents) return { events, nextRev: main };
        currentMain = main;
      }
      const kv = decodeKeyValue(bytes);
      const key = Buffer.from(kv.key).toString('latin1');
      if (!accept(key)) continue;
      let prevKv: KeyValue | undefined;
      if (withPrevKv && (tombstone || kv.createRevision !== kv.modRevision) && main - 1 >= compactRev) {
        const prev = index.get(key)?.get(main - 1);
        if (prev !== undefined) prevKv = this.readKv(prev.modMain, prev.modSub);
      }
      const eventKv = tombstone ? { key: kv.key, createRevision: 0, modRevision: main, version: 0, value: new Uint8Array(0), lease: 0n } : kv;
      events.push(prevKv === undefined ? { type: tombstone ? 'delete' : 'put', kv: eventKv } : { type: tombstone ? 'delete' : 'put', kv: eventKv, prevKv });
    }
    nextRev = toRev + 1;
    return { events, nextRev };
  }

  /**
   * Rebuilds the key index after the backend's whole contents were replaced (a member
   * installing a snapshot from its leader). Listeners are told, so watchers can catch up from
   * the new history instead of being dropped.
   */
  reload(): void {
    const state = this.state;
    const previousRevision = state.currentRev;
    state.index.clear();
    state.currentRev = 1;
    state.compactRev = 0;
    state.applied = { index: 0, term: 0 };
    this.rebuild();
    for (const listener of state.listeners) listener.onReload?.(previousRevision);
  }

  private rebuild(): void {
    const state = this.state;
    const applied = this.backend.get('meta', META_APPLIED);
    if (applied !== undefined) state.applied = decodeMeta(applied);
    const compact = this.backend.get('meta', META_COMPACT);
    if (compact !== undefined) state.compactRev = decodeMeta(compact).index;
    let lastMain = 0;
    // History comes in revision order, so keys come in random order: gather them in a hash
    // map and build the ordered index once, in key order (appends only).
    const byKey = new Map<ByteString, KeyIndex>();
    for (const [rk, bytes] of this.backend.range('key', '')) {
      const { main, sub, tombstone } = parseRevKey(rk);
      const kv = decodeIndexFields(bytes);
      const key = kv.key;
      let ki = byKey.get(key);
      lastMain = main;
      // A tombstone kept at the compaction revision for a key the compaction removed.
      if (tombstone && ki?.latest() === undefined) continue;
      if (ki === undefined) {
        ki = new KeyIndex(key);
        byKey.set(key, ki);
      }
      if (tombstone) ki.tombstone(main, sub);
      else ki.restorePut(main, sub, kv.createRevision, kv.version);
    }
    for (const key of [...byKey.keys()].sort()) state.index.set(key, byKey.get(key)!);
    state.currentRev = Math.max(1, state.compactRev, lastMain);
  }
}
