// Lessor tests, driven by FakeClock (no wall-clock timing): the TTL floor and ceiling,
// grant/revoke/renew/time-to-live/list with etcd's errors, revoke deleting all attached
// keys in one revision, expiry reported only while primary, remaining-TTL checkpoints,
// refresh on promotion, and restart from the backend on both engines.
import { afterAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/base/clock.js';
import { LeaseExistsError, LeaseNotFoundError, LeaseTtlTooLargeError } from '../../../src/mvcc/errors.js';
import { MvccStore } from '../../../src/mvcc/kv-store.js';
import type { MvccEvent } from '../../../src/mvcc/types.js';
import { NotPrimaryError } from '../../../src/server/lessor/errors.js';
import { LeaseIdGenerator } from '../../../src/server/lessor/lease-id.js';
import { type LeaseCheckpoint, Lessor, type LessorOptions } from '../../../src/server/lessor/lessor.js';
import type { Backend } from '../../../src/storage/backend/backend.js';
import { restoreSnapshot, writeSnapshot } from '../../../src/storage/backend/snapshot.js';
import { cleanup, engines } from '../../storage/backend/engines.js';

afterAll(cleanup);

const b = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));
const s = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');

/** A member's store + lessor with a raft-like entry counter and recorded callbacks. */
class Member {
  index = 0;
  readonly expired: bigint[][] = [];
  readonly checkpoints: LeaseCheckpoint[][] = [];
  readonly store: MvccStore;
  readonly lessor: Lessor;

  constructor(readonly backend: Backend, readonly clock: FakeClock, options: Partial<LessorOptions> = {}) {
    this.store = MvccStore.open(backend);
    this.lessor = new Lessor(this.store, {
      clock,
      onExpired: (ids) => this.expired.push(ids),
      onCheckpoint: (list) => this.checkpoints.push(list),
      ...options,
    });
  }

  private next(): { index: number; term: number } {
    this.index = Math.max(this.index, this.store.appliedPosition.index) + 1;
    return { index: this.index, term: 1 };
  }

  grant(id: bigint, ttlSeconds: number): number {
    const result = this.store.applyWith(this.next(), (txn) => this.lessor.grant(txn, id, ttlSeconds));
    if (result.kind === 'error') throw result.error;
    if (result.kind !== 'ok') throw new Error('skipped');
    return result.value.ttlSeconds;
  }

  revoke(id: bigint): number {
    const result = this.store.applyWith(this.next(), (txn) => this.lessor.revoke(txn, id));
    if (result.kind === 'error') throw result.error;
    if (result.kind !== 'ok') throw new Error('skipped');
    return result.value.deleted;
  }

  checkpoint(list: LeaseCheckpoint[]): void {
    this.store.applyWith(this.next(), (txn) => this.lessor.applyCheckpoint(txn, list));
  }

  put(key: string, lease = 0n): void {
    const result = this.store.apply(this.next(), { put: { key: b(key), value: b('v'), lease } });
    if (result.kind === 'error') throw result.error;
  }

  del(key: string): void {
    this.store.apply(this.next(), { deleteRange: { key: b(key) } });
  }

  keys(): string[] {
    return this.store.range({ key: b('\0'), rangeEnd: new Uint8Array([0]) }).kvs.map((kv) => `${s(kv.key)}:${kv.lease}`);
  }
}

describe.each(engines)('lessor on $name', (engine) => {
  const member = (options: Partial<LessorOptions> = {}, clock = new FakeClock(1_000)): Member => new Member(engine.create(), clock, options);

  it('raises TTLs to ceil(1.5 x election timeout) and refuses TTLs above 9e9 s and duplicate ids', () => {
    const m = member();
    expect(m.lessor.minTtlSeconds).toBe(2);
    expect(m.grant(1n, 1)).toBe(2);
    expect(m.grant(2n, 60)).toBe(60);
    expect(member({ electionTimeoutMs: 3_000 }).lessor.minTtlSeconds).toBe(5);
    expect(() => m.grant(3n, 9_000_000_001)).toThrow(LeaseTtlTooLargeError);
    expect(() => m.grant(3n, 9_000_000_001)).toThrow('etcdserver: too large lease TTL');
    expect(() => m.grant(1n, 10)).toThrow(LeaseExistsError);
    expect(() => m.grant(1n, 10)).toThrow('etcdserver: lease already exists');
    expect(m.lessor.leases()).toEqual([1n, 2n]);
  });

  it('attaches keys on put, detaches on overwrite and delete, and refuses unknown leases', () => {
    const m = member();
    m.grant(7n, 10);
    m.put('a', 7n);
    m.put('b', 7n);
    m.put('c', 7n);
    m.put('b'); // lease 0 detaches
    m.del('c');
    expect(m.lessor.timeToLive(7n, true).keys.map(s)).toEqual(['a']);
    expect(() => m.put('x', 99n)).toThrow(LeaseNotFoundError);
    expect(() => m.put('x', 99n)).toThrow('etcdserver: requested lease not found');
  });

  it('revokes: every attached key deleted in one revision, then the lease is gone', () => {
    const m = member();
    const events: Array<[number, MvccEvent[]]> = [];
    m.store.addListener({ onCommit: (rev, list) => events.push([rev, [...list]]), onCompact: () => {} });
    m.grant(5n, 10);
    m.put('z', 5n);
    m.put('a', 5n);
    m.put('m', 5n);
    m.put('other');
    const before = m.store.currentRevision;
    expect(m.revoke(5n)).toBe(3);
    expect(m.store.currentRevision).toBe(before + 1);
    const last = events[events.length - 1]!;
    expect(last[0]).toBe(before + 1);
    expect(last[1].map((e) => `${e.type} ${s(e.kv.key)}`)).toEqual(['delete a', 'delete m', 'delete z']);
    expect(m.keys()).toEqual(['other:0']);
    expect(m.lessor.timeToLive(5n)).toEqual({ id: 5n, ttlSeconds: -1, grantedTtlSeconds: 0, keys: [] });
    expect(() => m.revoke(5n)).toThrow(LeaseNotFoundError);
    m.grant(6n, 10);
    const unchanged = m.store.currentRevision;
    m.revoke(6n); // no keys: no revision bump
    expect(m.store.currentRevision).toBe(unchanged);
  });

  it('detects expiry only while primary, through the clock and the callback, and re-reports until revoked', () => {
    const clock = new FakeClock(0);
    const m = member({ expiredRetryMs: 3_000 }, clock);
    m.grant(1n, 5);
    m.grant(2n, 20);
    clock.advance(60_000);
    m.lessor.tick();
    expect(m.expired).toEqual([]); // not primary: nothing expires here
    m.lessor.promote();
    clock.advance(4_999);
    m.lessor.tick();
    expect(m.expired).toEqual([]);
    clock.advance(1);
    m.lessor.tick();
    expect(m.expired).toEqual([[1n]]);
    clock.advance(2_999);
    m.lessor.tick();
    expect(m.expired).toEqual([[1n]]);
    clock.advance(1); // the revoke was not applied yet: reported again
    m.lessor.tick();
    expect(m.expired).toEqual([[1n], [1n]]);
    m.revoke(1n);
    clock.advance(20_000);
    m.lessor.tick();
    expect(m.expired).toEqual([[1n], [1n], [2n]]);
    m.lessor.demote();
    clock.advance(100_000);
    m.lessor.tick();
    expect(m.expired).toHaveLength(3);
  });

  it('bounds the expired leases reported per tick', () => {
    const clock = new FakeClock(0);
    const m = member({ maxExpiredPerTick: 2 }, clock);
    for (let id = 1n; id <= 5n; id += 1n) m.grant(id, 2);
    m.lessor.promote();
    clock.advance(2_000);
    m.lessor.tick();
    m.lessor.tick();
    m.lessor.tick();
    expect(m.expired).toEqual([[1n, 2n], [3n, 4n], [5n]]);
  });

  it('keeps expiry exact under a flood of renewals (stale heap entries are pruned)', () => {
    const clock = new FakeClock(0);
    const m = member({}, clock);
    m.grant(1n, 10);
    m.grant(2n, 10);
    m.lessor.promote();
    for (let i = 0; i < 5_000; i += 1) m.lessor.renew(1n);
    clock.advance(10_000);
    m.lessor.tick();
    expect(m.expired).toEqual([[1n, 2n]]);
  });

  it('renews to the full TTL on the primary only, and not an expired or unknown lease', () => {
    const clock = new FakeClock(0);
    const m = member({}, clock);
    m.grant(1n, 10);
    expect(() => m.lessor.renew(1n)).toThrow(NotPrimaryError);
    m.lessor.promote();
    clock.advance(8_000);
    expect(m.lessor.timeToLive(1n).ttlSeconds).toBe(2);
    expect(m.lessor.renew(1n)).toBe(10);
    expect(m.lessor.timeToLive(1n)).toMatchObject({ ttlSeconds: 10, grantedTtlSeconds: 10 });
    clock.advance(9_500);
    expect(m.lessor.timeToLive(1n).ttlSeconds).toBe(1); // rounded up
    m.lessor.tick();
    expect(m.expired).toEqual([]);
    clock.advance(500);
    expect(() => m.lessor.renew(1n)).toThrow(LeaseNotFoundError);
    expect(() => m.lessor.renew(42n)).toThrow(LeaseNotFoundError);
  });

  it('gives every lease a fresh TTL on promotion (etcd behaviour), plus the extension', () => {
    const clock = new FakeClock(0);
    const leader = member({}, clock);
    leader.grant(1n, 10);
    leader.lessor.promote();
    clock.advance(9_000);
    leader.lessor.demote();
    leader.lessor.promote(1_000);
    clock.advance(10_999);
    leader.lessor.tick();
    expect(leader.expired).toEqual([]);
    clock.advance(1);
    leader.lessor.tick();
    expect(leader.expired).toEqual([[1n]]);
  });

  it('checkpoints remaining TTLs of long leases, and a new primary uses them; renew resets them', () => {
    const clock = new FakeClock(0);
    const m = member({ checkpointIntervalMs: 60_000 }, clock);
    m.grant(1n, 600);
    m.grant(2n, 30); // shorter than the interval: never checkpointed
    m.lessor.promote();
    clock.advance(60_000);
    m.lessor.tick();
    expect(m.checkpoints).toEqual([[{ id: 1n, remainingTtlSeconds: 540 }]]);
    m.checkpoint(m.checkpoints[0]!); // replicated through raft
    // Restart on the same state (another member taking over): the remaining TTL is used.
    const reopened = engine.reopen !== undefined ? engine.reopen(m.backend) : copyOf(m.backend, engine.create());
    const next = new Member(reopened, clock);
    next.lessor.promote();
    clock.advance(539_000);
    next.lessor.tick();
    expect(next.expired).toEqual([[2n]]); // lease 2 got a full 30 s, long gone
    clock.advance(1_000);
    next.lessor.tick();
    expect(next.expired).toEqual([[2n], [1n]]);
    // A renew of a checkpointed lease reports a reset so the stale remainder is not reused.
    expect(next.lessor.renew(1n)).toBe(600);
    expect(next.checkpoints).toEqual([[{ id: 1n, remainingTtlSeconds: 0 }]]);
  });

  it('restores leases and their keys after a restart', () => {
    const m = member();
    m.grant(3n, 30);
    m.grant(4n, 40);
    m.put('k1', 3n);
    m.put('k2', 4n);
    m.put('k3', 3n);
    const reopened = engine.reopen !== undefined ? engine.reopen(m.backend) : copyOf(m.backend, engine.create());
    const next = new Member(reopened, new FakeClock(0));
    expect(next.lessor.leases()).toEqual([3n, 4n]);
    expect(next.lessor.timeToLive(3n, true)).toEqual({ id: 3n, ttlSeconds: 30, grantedTtlSeconds: 30, keys: [b('k1'), b('k3')] });
    expect(next.revoke(3n)).toBe(2);
    expect(next.keys()).toEqual(['k2:4']);
  });

  it('replays granted and revoked leases idempotently', () => {
    const m = member();
    m.grant(9n, 10);
    const position = m.store.appliedPosition;
    const again = m.store.applyWith(position, (txn) => m.lessor.grant(txn, 9n, 10));
    expect(again.kind).toBe('already-applied');
  });
});

function copyOf(source: Backend, target: Backend): Backend {
  restoreSnapshot(target, [...writeSnapshot(source)]);
  return target;
}

describe('LeaseIdGenerator', () => {
  it('makes positive ids prefixed by the member id, distinct across calls and restarts', () => {
    const first = new LeaseIdGenerator(0x1234_5678n, 1_700_000_000_000);
    const ids = Array.from({ length: 1000 }, () => first.next());
    expect(new Set(ids).size).toBe(1000);
    for (const id of ids) {
      expect(id > 0n).toBe(true);
      expect(id >> 48n).toBe(0x5678n);
    }
    const later = new LeaseIdGenerator(0x1234_5678n, 1_700_000_001_000);
    expect(ids).not.toContain(later.next());
    expect(new LeaseIdGenerator(0xffffn, 0).next() > 0n).toBe(true); // the sign bit is masked off
  });
});
