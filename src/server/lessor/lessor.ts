import { assert } from '../../base/assert.js';
import type { Clock } from '../../base/clock.js';
import { requireInteger } from '../../base/validate.js';
import type { ApplyTxn } from '../../mvcc/apply-txn.js';
import { LeaseExistsError, LeaseNotFoundError, LeaseTtlTooLargeError } from '../../mvcc/errors.js';
import type { LeaseHooks, MvccStore } from '../../mvcc/kv-store.js';
import type { ByteString } from '../../storage/backend/bytes.js';
import { fromByteString } from '../../storage/backend/bytes.js';
import { NotPrimaryError } from './errors.js';
import { ExpiryHeap } from './expiry-heap.js';
import { decodeLease, encodeLease, type Lease, leaseKey, parseLeaseKey } from './lease.js';

/** etcd's MaxLeaseTTL: 9,000,000,000 seconds. */
export const MAX_LEASE_TTL_SECONDS = 9_000_000_000;

export interface LeaseCheckpoint {
  readonly id: bigint;
  /** Remaining TTL to record; 0 resets the lease to its full TTL (after a renew). */
  readonly remainingTtlSeconds: number;
}

export interface LessorOptions {
  readonly clock: Clock;
  /** Raft election timeout; the minimum TTL is ceil(1.5 x this) in seconds (default 1000 ms: 2 s). */
  readonly electionTimeoutMs?: number;
  /** Called on the primary with leases found expired; the server proposes their revokes. */
  readonly onExpired: (ids: bigint[]) => void;
  /** Called on the primary with remaining TTLs to replicate (LeaseCheckpoint proposals). */
  readonly onCheckpoint?: (checkpoints: LeaseCheckpoint[]) => void;
  /** How often the primary checkpoints remaining TTLs; 0 disables checkpointing (default 5 min). */
  readonly checkpointIntervalMs?: number;
  /** Expired leases reported per tick at most (default 1000, etcd's revoke rate). */
  readonly maxExpiredPerTick?: number;
  /** Checkpoints reported per tick at most (default 1000). */
  readonly maxCheckpointsPerTick?: number;
  /** A reported lease not yet revoked is reported again after this long (default 3000 ms). */
  readonly expiredRetryMs?: number;
}

export interface TimeToLive {
  readonly id: bigint;
  /** Remaining seconds (rounded up), or -1 when the lease does not exist (etcd's answer, not an error). */
  readonly ttlSeconds: number;
  readonly grantedTtlSeconds: number;
  readonly keys: Uint8Array[];
}

/**
 * The lessor (modelled on etcd's): lease state replicated through raft plus expiry timing
 * kept only by the primary (the leader's member). State changes (`grant`, `revoke`,
 * `applyCheckpoint`) run inside an MVCC ApplyTxn on every member, so they persist with the
 * applied index. Timing (`promote`, `renew`, `tick`) uses the injected clock and runs only
 * on the primary; expiry is reported through `onExpired` and becomes a proposed revoke.
 * The lessor is the store's LeaseHooks: puts attach keys, deletes detach them.
 */
export class Lessor implements LeaseHooks {
  readonly minTtlSeconds: number;
  private readonly clock: Clock;
  private readonly leasesById = new Map<bigint, Lease>();
  private readonly heap = new ExpiryHeap();
  private primary = false;
  private readonly checkpointIntervalMs: number;
  private readonly maxExpiredPerTick: number;
  private readonly maxCheckpointsPerTick: number;
  private readonly expiredRetryMs: number;
  private nextCheckpointMs = Infinity;
  /** Leases whose checkpoint is still to be reported in the current round. */
  private checkpointQueue: bigint[] = [];
  private checkpointCursor = 0;

  constructor(private readonly store: MvccStore, private readonly options: LessorOptions) {
    this.clock = options.clock;
    const electionTimeoutMs = requireInteger('electionTimeoutMs', options.electionTimeoutMs ?? 1000, 1);
    this.minTtlSeconds = Math.ceil((1.5 * electionTimeoutMs) / 1000);
    this.checkpointIntervalMs = requireInteger('checkpointIntervalMs', options.checkpointIntervalMs ?? 300_000, 0);
    this.maxExpiredPerTick = requireInteger('maxExpiredPerTick', options.maxExpiredPerTick ?? 1000, 1);
    this.maxCheckpointsPerTick = requireInteger('maxCheckpointsPerTick', options.maxCheckpointsPerTick ?? 1000, 1);
    this.expiredRetryMs = requireInteger('expiredRetryMs', options.expiredRetryMs ?? 3000, 1);
    for (const [key, value] of store.backend.range('lease', '')) {
      const { ttlSeconds, remainingTtlSeconds } = decodeLease(value);
      const id = parseLeaseKey(key);
      this.leasesById.set(id, { id, ttlSeconds, remainingTtlSeconds, expiryMs: Infinity, keys: new Set() });
    }
    for (const [key, id] of store.leasedKeys()) {
      const lease = this.leasesById.get(id);
      assert(lease !== undefined, () => `key attached to unknown lease ${id}`);
      lease.keys.add(key);
    }
    store.setLeaseHooks(this);
  }

  get isPrimary(): boolean {
    return this.primary;
  }

  // ---- LeaseHooks (called by the store while applying) ----

  exists(id: bigint): boolean {
    return this.leasesById.has(id);
  }

  attach(id: bigint, key: ByteString): void {
    this.leasesById.get(id)?.keys.add(key);
  }

  detach(id: bigint, key: ByteString): void {
    this.leasesById.get(id)?.keys.delete(key);
  }

  // ---- replicated state changes: inside an ApplyTxn, on every member ----

  /** Grants lease `id` (chosen before proposing, never 0); the TTL is raised to the minimum. */
  grant(txn: ApplyTxn, id: bigint, ttlSeconds: number): { id: bigint; ttlSeconds: number } {
    assert(id > 0n, 'lease ids are chosen before proposing and are positive');
    assert(Number.isFinite(ttlSeconds), 'lease TTL must be a finite number');
    if (ttlSeconds > MAX_LEASE_TTL_SECONDS) throw new LeaseTtlTooLargeError();
    if (this.leasesById.has(id)) throw new LeaseExistsError();
    const ttl = Math.max(this.minTtlSeconds, Math.ceil(ttlSeconds));
    const lease: Lease = { id, ttlSeconds: ttl, remainingTtlSeconds: 0, expiryMs: Infinity, keys: new Set() };
    this.leasesById.set(id, lease);
    txn.writeAux({ bucket: 'lease', key: leaseKey(id), value: encodeLease(lease) });
    if (this.primary) this.schedule(lease, this.clock.nowMs() + ttl * 1000);
    return { id, ttlSeconds: ttl };
  }

  /** Revokes lease `id`: its keys are deleted in this entry's single revision, then the lease goes. */
  revoke(txn: ApplyTxn, id: bigint): { deleted: number } {
    const lease = this.leasesById.get(id);
    if (lease === undefined) throw new LeaseNotFoundError();
    const deleted = txn.deleteKeys(lease.keys);
    this.leasesById.delete(id);
    txn.writeAux({ bucket: 'lease', key: leaseKey(id), value: null });
    return { deleted };
  }

  /** Records replicated remaining TTLs (unknown leases are skipped: they were revoked meanwhile). */
  applyCheckpoint(txn: ApplyTxn, checkpoints: readonly LeaseCheckpoint[]): void {
    for (const checkpoint of checkpoints) {
      const lease = this.leasesById.get(checkpoint.id);
      if (lease === undefined) continue;
      lease.remainingTtlSeconds = checkpoint.remainingTtlSeconds;
      txn.writeAux({ bucket: 'lease', key: leaseKey(lease.id), value: encodeLease(lease) });
    }
  }

  // ---- primary-only timing ----

  /**
   * Makes this lessor primary (its member became leader): every lease gets a fresh
   * deadline of its checkpointed remaining TTL, or its full TTL, plus `extendMs`.
   */
  promote(extendMs = 0): void {
    requireInteger('extendMs', extendMs, 0);
    this.primary = true;
    this.heap.clear();
    const now = this.clock.nowMs();
    for (const lease of this.leasesById.values()) {
      const seconds = lease.remainingTtlSeconds > 0 ? lease.remainingTtlSeconds : lease.ttlSeconds;
      this.schedule(lease, now + seconds * 1000 + extendMs);
    }
    this.nextCheckpointMs = this.checkpointIntervalMs > 0 ? now + this.checkpointIntervalMs : Infinity;
    this.checkpointQueue = [];
    this.checkpointCursor = 0;
  }

  /** Stops expiry tracking (leadership lost); deadlines are forgotten. */
  demote(): void {
    this.primary = false;
    this.heap.clear();
    for (const lease of this.leasesById.values()) lease.expiryMs = Infinity;
    this.nextCheckpointMs = Infinity;
    this.checkpointQueue = [];
    this.checkpointCursor = 0;
  }

  /**
   * KeepAlive: renews `id` to its full TTL and returns that TTL. Throws LeaseNotFoundError
   * (the server answers TTL 0) and NotPrimaryError (the server forwards to the leader).
   * A lease with a checkpointed remaining TTL gets a reset checkpoint reported, so a new
   * leader does not use the stale remainder.
   */
  renew(id: bigint): number {
    if (!this.primary) throw new NotPrimaryError();
    const lease = this.leasesById.get(id);
    if (lease === undefined || lease.expiryMs <= this.clock.nowMs()) throw new LeaseNotFoundError();
    this.schedule(lease, this.clock.nowMs() + lease.ttlSeconds * 1000);
    if (lease.remainingTtlSeconds > 0) this.options.onCheckpoint?.([{ id, remainingTtlSeconds: 0 }]);
    return lease.ttlSeconds;
  }

  /**
   * The server calls this on every heartbeat tick while primary: reports expired leases
   * (at most maxExpiredPerTick, each again after expiredRetryMs until revoked) and, every
   * checkpoint interval, the remaining TTLs to checkpoint. Does nothing when not primary.
   */
  tick(): void {
    if (!this.primary) return;
    const now = this.clock.nowMs();
    const expired: bigint[] = [];
    while (expired.length < this.maxExpiredPerTick) {
      const due = this.heap.peekDue();
      if (due === undefined || due > now) break;
      const { dueMs, id } = this.heap.pop()!;
      const lease = this.leasesById.get(id);
      if (lease === undefined || lease.expiryMs !== dueMs) continue; // revoked or renewed since
      expired.push(id);
      this.schedule(lease, now + this.expiredRetryMs);
    }
    if (expired.length > 0) this.options.onExpired(expired);
    this.checkpoints(now);
  }

  // ---- reads ----

  timeToLive(id: bigint, withKeys = false): TimeToLive {
    const lease = this.leasesById.get(id);
    if (lease === undefined) return { id, ttlSeconds: -1, grantedTtlSeconds: 0, keys: [] };
    return {
      id,
      ttlSeconds: this.remainingSeconds(lease),
      grantedTtlSeconds: lease.ttlSeconds,
      keys: withKeys ? [...lease.keys].sort().map(fromByteString) : [],
    };
  }

  leases(): bigint[] {
    return [...this.leasesById.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  private remainingSeconds(lease: Lease): number {
    if (this.primary && Number.isFinite(lease.expiryMs)) return Math.max(0, Math.ceil((lease.expiryMs - this.clock.nowMs()) / 1000));
    // Not primary: no deadline here (the server forwards TimeToLive to the leader, as etcd does).
    return lease.remainingTtlSeconds > 0 ? lease.remainingTtlSeconds : lease.ttlSeconds;
  }

  private schedule(lease: Lease, dueMs: number): void {
    lease.expiryMs = dueMs;
    this.heap.push(dueMs, lease.id);
    // Renewals leave stale entries behind; keep the heap within 2x the leases (+ slack).
    if (this.heap.size > 2 * this.leasesById.size + 1024) {
      this.heap.clear();
      for (const live of this.leasesById.values()) if (Number.isFinite(live.expiryMs)) this.heap.push(live.expiryMs, live.id);
    }
  }

  private checkpoints(now: number): void {
    const report = this.options.onCheckpoint;
    if (report === undefined) return;
    if (now >= this.nextCheckpointMs) {
      this.nextCheckpointMs = now + this.checkpointIntervalMs;
      this.checkpointQueue = this.leases();
      this.checkpointCursor = 0;
    }
    const batch: LeaseCheckpoint[] = [];
    while (batch.length < this.maxCheckpointsPerTick && this.checkpointCursor < this.checkpointQueue.length) {
      const lease = this.leasesById.get(this.checkpointQueue[this.checkpointCursor++]!);
      if (lease === undefined || !Number.isFinite(lease.expiryMs)) continue;
      const remaining = Math.ceil((lease.expiryMs - now) / 1000);
      // Only leases that will outlive the next round need a checkpoint (as etcd).
      if (remaining * 1000 > this.checkpointIntervalMs && remaining < lease.ttlSeconds) batch.push({ id: lease.id, remainingTtlSeconds: remaining });
    }
    if (batch.length > 0) report(batch);
  }
}
