// The chaos checkers on hand-made histories: each accepts a correct history and catches the
// violation it exists for (each history below is small enough to verify by hand).
import { describe, expect, it } from 'vitest';
import { checkRegisters } from './linearizability.js';
import type { RegisterInput, RegisterOp, RegisterOutput } from './linearizability.js';
import { checkLockHistory } from './locks.js';
import { checkLeases, revisionClock } from './leases.js';
import { checkReference, checkWatcher } from './watches.js';
import type { ObservedEvent, WatchSpec } from './watches.js';

const op = (client: number, input: RegisterInput, output: RegisterOutput | undefined, callAt: number, returnAt: number, key = 'k'): RegisterOp => ({ key, client, input, output, callAt, returnAt });
const w = (value: string): RegisterInput => ({ kind: 'write', value });
const r: RegisterInput = { kind: 'read' };
const cas = (expected: string | null, value: string): RegisterInput => ({ kind: 'cas', expected, value });

describe('linearizability checker (registers with CAS)', () => {
  it('accepts sequential and overlapping histories that have a linearization', () => {
    expect(checkRegisters([op(0, w('a'), { ok: true }, 0, 1), op(1, r, { value: 'a' }, 2, 3)]).ok).toBe(true);
    // The read overlaps the write: either value is fine.
    expect(checkRegisters([op(0, w('a'), { ok: true }, 0, 10), op(1, r, { value: null }, 1, 2), op(2, r, { value: 'a' }, 3, 4)]).ok).toBe(true);
    expect(checkRegisters([op(0, w('a'), { ok: true }, 0, 1), op(1, cas('a', 'b'), { succeeded: true }, 2, 3), op(2, cas('a', 'c'), { succeeded: false }, 4, 5), op(0, r, { value: 'b' }, 6, 7)]).ok).toBe(true);
  });

  it('catches a stale read (what serializable reads from a cut-off member give)', () => {
    const result = checkRegisters([op(0, w('a'), { ok: true }, 0, 1), op(0, w('b'), { ok: true }, 2, 3), op(1, r, { value: 'a' }, 4, 5)]);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.undecided).toBe(false);
  });

  it('catches a read that goes back in time (two reads after one write completed)', () => {
    const result = checkRegisters([op(0, w('a'), { ok: true }, 0, 1), op(0, w('b'), { ok: true }, 2, 10), op(1, r, { value: 'b' }, 3, 4), op(2, r, { value: 'a' }, 5, 6)]);
    expect(result.ok).toBe(false);
  });

  it('catches two CAS from the same value both succeeding', () => {
    const result = checkRegisters([op(0, w('a'), { ok: true }, 0, 1), op(1, cas('a', 'b'), { succeeded: true }, 2, 5), op(2, cas('a', 'c'), { succeeded: true }, 3, 6)]);
    expect(result.ok).toBe(false);
  });

  it('an indeterminate write may have happened at any time after its call, or never', () => {
    // Seen later: fine.
    expect(checkRegisters([op(0, w('a'), undefined, 0, 1), op(1, r, { value: null }, 5, 6), op(1, r, { value: 'a' }, 7, 8)]).ok).toBe(true);
    // Never seen: fine.
    expect(checkRegisters([op(0, w('a'), undefined, 0, 1), op(1, r, { value: null }, 5, 6)]).ok).toBe(true);
    // Seen before it was called: not fine.
    expect(checkRegisters([op(1, r, { value: 'a' }, 0, 1), op(0, w('a'), undefined, 2, 3)]).ok).toBe(false);
    // An indeterminate CAS that took effect.
    expect(checkRegisters([op(0, w('a'), { ok: true }, 0, 1), op(1, cas('a', 'b'), undefined, 2, 3), op(2, r, { value: 'b' }, 10, 11)]).ok).toBe(true);
  });

  it('sets aside indeterminate writes nobody observed, so many timeouts do not blow up the search', () => {
    const ops = [op(0, w('a'), { ok: true }, 0, 1)];
    for (let i = 0; i < 60; i++) ops.push(op(i + 1, w(`lost${i}`), undefined, 2 + i, 3 + i));
    ops.push(op(99, r, { value: 'a' }, 100, 101));
    const result = checkRegisters(ops, () => null, 10_000);
    expect(result.ok).toBe(true);
    // An observed one still counts: reading it before its call is caught.
    expect(checkRegisters([op(1, r, { value: 'lost3' }, 0, 1), op(0, w('lost3'), undefined, 5, 6)]).ok).toBe(false);
    // A failed CAS observes an unseen write (the value was not the expected one): kept, it explains the failure.
    expect(checkRegisters([op(0, w('lost'), undefined, 0, 1), op(1, cas(null, 'x'), { succeeded: false }, 5, 6)]).ok).toBe(true);
    expect(checkRegisters([op(1, cas(null, 'x'), { succeeded: false }, 5, 6)]).ok).toBe(false);
  });

  it('places interchangeable unobserved indeterminate writes in call order, so a key with a failed CAS and many timeouts is decided', () => {
    // A failed CAS keeps every unobserved timed-out write (one of them may explain the failure);
    // without the symmetry reduction this history took more than 1,000,000 steps.
    const ops = [op(0, w('a'), { ok: true }, 0, 1), op(1, cas('z', 'y'), { succeeded: false }, 1.5, 1.8)];
    for (let i = 0; i < 24; i++) ops.push(op(10 + i, w(`lost${i}`), undefined, 2 + i, 3 + i));
    for (let i = 0; i < 6; i++) ops.push(op(2, cas('a', `c${i}`), undefined, 30 + i, 31 + i));
    ops.push(op(3, r, { value: 'a' }, 50, 51), op(4, cas('q', 'x'), { succeeded: false }, 52, 53));
    expect(checkRegisters(ops, () => null, 1_000_000).ok).toBe(true);
    // Still caught: a read of a value overwritten by acknowledged writes, among the timeouts.
    const stale = [...ops, op(5, w('b'), { ok: true }, 60, 61), op(6, r, { value: 'a' }, 62, 63)];
    const result = checkRegisters(stale, () => null, 1_000_000);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.undecided).toBe(false);
    // A failed CAS that only a timed-out write explains, and one nothing explains.
    expect(checkRegisters([op(0, w('a'), { ok: true }, 0, 1), op(1, w('lost'), undefined, 2, 3), op(2, cas('a', 'x'), { succeeded: false }, 4, 5)]).ok).toBe(true);
    expect(checkRegisters([op(0, w('a'), { ok: true }, 0, 1), op(1, w('lost'), undefined, 6, 7), op(2, cas('a', 'x'), { succeeded: false }, 4, 5)]).ok).toBe(false);
  });

  it('checks each key on its own, and reports an exhausted search as undecided, never as a pass', () => {
    expect(checkRegisters([op(0, w('a'), { ok: true }, 0, 1, 'x'), op(1, r, { value: null }, 2, 3, 'y'), op(1, r, { value: 'a' }, 4, 5, 'x')]).ok).toBe(true);
    const many = Array.from({ length: 30 }, (_, i) => op(i, w(`v${i}`), { ok: true }, 0, 100));
    many.push(op(99, r, { value: 'nope' }, 200, 201));
    const result = checkRegisters(many, () => null, 1000);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.undecided).toBe(true);
  });
});

describe('lock checker', () => {
  it('accepts holders one after another, and a stale holder refused by the guard after losing its lease', () => {
    const writes = [
      { token: 5n, holder: 0, accepted: true }, { token: 5n, holder: 0, accepted: true },
      { token: 9n, holder: 1, accepted: true }, { token: 5n, holder: 0, accepted: false },
    ];
    expect(checkLockHistory(writes, [{ holder: 0, token: 5n, confirmed: false }, { holder: 1, token: 9n, confirmed: true }]).violations).toEqual([]);
  });

  it('catches a stale token accepted (a broken guard)', () => {
    const writes = [{ token: 9n, holder: 1, accepted: true }, { token: 5n, holder: 0, accepted: true }];
    expect(checkLockHistory(writes, []).violations.join()).toMatch(/stale token 5 accepted after 9/);
  });

  it('catches overlapping sections: a holder that still held its key was refused', () => {
    // What a Mutex without the predecessor wait does: both think they hold it.
    const writes = [{ token: 5n, holder: 0, accepted: true }, { token: 9n, holder: 1, accepted: true }, { token: 5n, holder: 0, accepted: false }];
    const sections = [{ holder: 0, token: 5n, confirmed: true }, { holder: 1, token: 9n, confirmed: true }];
    expect(checkLockHistory(writes, sections).violations.join()).toMatch(/confirmed holder of token 5 was refused/);
  });

  it('catches interleaved sections and one token granted twice', () => {
    expect(checkLockHistory([{ token: 5n, holder: 0, accepted: true }, { token: 5n, holder: 2, accepted: true }], [{ holder: 0, token: 5n, confirmed: true }, { holder: 2, token: 5n, confirmed: true }]).violations.join()).toMatch(/token 5 granted to holders 0 and 2/);
  });
});

describe('lease checker', () => {
  const record = (grantedAt: number, deletedSeenAt: number | undefined) => ({ key: 'l', ttlSeconds: 3, sentAt: grantedAt - 10, grantedAt, deletedSeenAt });
  const bounds = { electionTimeoutMs: 1000, slackMs: 500, leaderChanges: [] as number[], observedUntil: 100_000 };
  it('accepts an expiry between TTL and the bound', () => {
    expect(checkLeases([record(0, 3500)], bounds).violations).toEqual([]);
  });
  it('catches an early expiry and a key that outlives its bound', () => {
    expect(checkLeases([record(0, 2000)], bounds).violations.join()).toMatch(/before its 3 s TTL/);
    // Known only from the watch, no revision to order it by: the time bound alone decides.
    expect(checkLeases([record(0, 6000)], bounds).violations.join()).toMatch(/past its bound/);
    expect(checkLeases([record(0, undefined)], bounds).violations.join()).toMatch(/still there/);
  });
  it('a leader change renews the lease: the bound counts from it', () => {
    expect(checkLeases([record(0, 6000)], { ...bounds, leaderChanges: [2000] }).violations).toEqual([]);
  });

  // The seed-7 finding: a watch served by a lagging member (a re-added member promoted at 90 %
  // of the leader's log) delivered deletions 40-58 s after their grants, although other
  // answers showed the deleting revisions committed within the bound.
  const lagged = (deleteRevision: bigint | undefined, deletedSeenAt: number | undefined) => ({ ...record(0, deletedSeenAt), deleteRevision });
  it('a deletion a lagging watch delivered late is on time when an answer shows its revision committed in time', () => {
    const revisions = [{ revision: 40n, at: 3200 }, { revision: 41n, at: 3900 }, { revision: 45n, at: 4100 }];
    const result = checkLeases([lagged(41n, 45_000), lagged(42n, 52_000)], { ...bounds, revisions });
    expect(result.violations).toEqual([]);
    expect(result.expired).toBe(2);
    // Revision 41 was committed by 3900 (its own answer), 42 by 4100 (an answer at 45).
    expect(result.lateWatchSightings).toBe(2);
    expect(result.maxWatchLagMs).toBe(52_000 - 4100);
  });
  it('still catches a revoke that committed late while the cluster committed writes sent after the bound', () => {
    // Revision 41 (the deletion) first answered at 44 s; a write sent at 5 s (past the 4.5 s bound) got revision 40.
    const revisions = [{ revision: 40n, at: 5200, calledAt: 5000 }, { revision: 41n, at: 44_000 }];
    const result = checkLeases([lagged(41n, 45_000)], { ...bounds, revisions });
    expect(result.violations.join()).toMatch(/deleted at revision 41 44000 ms after the grant, past its bound of 4500 ms; a write sent 500 ms after the bound was committed before it, at revision 40/);
    expect(result.lateWatchSightings).toBe(0);
    expect(result.lateWithoutQuorum).toBe(0);
  });
  it('a revoke past the bound is no violation when nothing sent after the bound committed ahead of it (no quorum)', () => {
    // The seed-31 shape: no quorum from 3 s to 44 s; at 44 s the revoke proposed long before commits first, then the writes.
    const revisions = [{ revision: 40n, at: 3200, calledAt: 3000 }, { revision: 41n, at: 44_000 }, { revision: 42n, at: 44_100, calledAt: 6000 }];
    const result = checkLeases([lagged(41n, 45_000)], { ...bounds, revisions });
    expect(result.violations).toEqual([]);
    expect(result.lateWithoutQuorum).toBe(1);
    // A write sent before the bound and committed ahead proves nothing either; a read is not a write.
    const early = checkLeases([lagged(41n, 45_000)], { ...bounds, revisions: [{ revision: 40n, at: 43_000, calledAt: 4000 }, { revision: 40n, at: 9000 }, { revision: 41n, at: 44_000 }] });
    expect(early.violations).toEqual([]);
  });
  it('an answer at an older revision proves nothing about when the deletion committed', () => {
    const revisions = [{ revision: 40n, at: 3200 }, { revision: 39n, at: 3300 }, { revision: 40n, at: 30_000, calledAt: 29_000 }];
    expect(checkLeases([lagged(41n, 45_000)], { ...bounds, revisions }).violations.join()).toMatch(/past its bound/);
  });
  it('catches an early expiry shown by the revision alone, and a deletion known only from the reference stream', () => {
    const revisions = [{ revision: 41n, at: 2500 }];
    expect(checkLeases([lagged(41n, 45_000)], { ...bounds, revisions }).violations.join()).toMatch(/2510 ms after the grant was sent, before its 3 s TTL/);
    expect(checkLeases([lagged(41n, undefined)], { ...bounds, revisions: [{ revision: 43n, at: 3600 }] }).violations).toEqual([]);
    expect(checkLeases([lagged(41n, undefined)], { ...bounds, revisions: [{ revision: 40n, at: 8000, calledAt: 7000 }, { revision: 43n, at: 9000 }] }).violations.join()).toMatch(/past its bound/);
  });
});

describe('revision clock', () => {
  it('gives the earliest answer at or above a revision, whatever the samples order', () => {
    const committedBy = revisionClock([{ revision: 9n, at: 50 }, { revision: 3n, at: 70 }, { revision: 5n, at: 20 }, { revision: 5n, at: 30 }]);
    expect(committedBy(1n)).toBe(20);
    expect(committedBy(5n)).toBe(20);
    expect(committedBy(6n)).toBe(50);
    expect(committedBy(9n)).toBe(50);
    expect(committedBy(10n)).toBeUndefined();
    expect(revisionClock([])(1n)).toBeUndefined();
  });
});

describe('watch checker', () => {
  const put = (revision: number, key: string, value: string, prevValue?: string): ObservedEvent => ({ revision: BigInt(revision), key, type: 'put', value, prevValue });
  const del = (revision: number, key: string, prevValue?: string): ObservedEvent => ({ revision: BigInt(revision), key, type: 'delete', value: '', prevValue });
  const reference = [put(2, 'p/a', '1'), put(3, 'p/a', '2', '1'), put(3, 'p/b', 'x'), del(4, 'p/a', '2'), put(5, 'q/z', 'z'), put(6, 'p/b', 'y', 'x')];
  const spec = (over: Partial<WatchSpec> = {}): WatchSpec => ({ id: 1, prefix: 'p/', startRevision: 2n, prevKv: true, noPut: false, noDelete: false, ...over });
  const of = (events: ObservedEvent[], responses?: number[], progress: Array<{ revision: bigint; afterEvents: number }> = []) => ({ spec: spec(), events, progress, ...(responses === undefined ? {} : { responses }) });
  const good = reference.filter((e) => e.key.startsWith('p/'));

  it('accepts the exact filtered stream, and a prefix of it when not drained', () => {
    expect(checkWatcher(of(good, [0, 1, 1, 2, 3]), reference, true)).toEqual([]);
    expect(checkWatcher(of(good.slice(0, 3)), reference, false)).toEqual([]);
    expect(checkWatcher({ ...of(good.filter((e) => e.type === 'put')), spec: spec({ noDelete: true }) }, reference, true)).toEqual([]);
  });

  it('catches disorder, duplicates (a resume from the wrong revision), gaps, splits, bad prev_kv, filters, early progress', () => {
    expect(checkWatcher(of([good[1]!, good[0]!, ...good.slice(2)]), reference, true).join()).toMatch(/not ordered/);
    expect(checkWatcher(of([...good.slice(0, 2), ...good.slice(1)]), reference, true).join()).toMatch(/not unique/);
    expect(checkWatcher(of([good[0]!, ...good.slice(3)]), reference, true).join()).toMatch(/reliable \(a gap\)/);
    expect(checkWatcher(of([...good.slice(0, 2), ...good.slice(3)]), reference, true).join()).toMatch(/not atomic/);
    expect(checkWatcher(of(good, [0, 1, 2, 3, 4]), reference, true).join()).toMatch(/not atomic: revision 3 split/);
    expect(checkWatcher(of([good[0]!, put(3, 'p/a', '2', 'wrong'), ...good.slice(2)]), reference, true).join()).toMatch(/prev_kv wrong/);
    expect(checkWatcher({ ...of(good), spec: spec({ noDelete: true }) }, reference, true).join()).toMatch(/filter not honoured/);
    expect(checkWatcher(of(good, undefined, [{ revision: 4n, afterEvents: 1 }]), reference, true).join()).toMatch(/progress notification at 4 was ahead/);
  });

  it('checks the reference against acknowledged writes and its own prev values', () => {
    expect(checkReference(reference, [{ key: 'p/b', value: 'y', revision: 6n }])).toEqual([]);
    expect(checkReference(reference, [{ key: 'p/b', value: 'lost', revision: 7n }]).join()).toMatch(/not in the event history/);
    expect(checkReference([put(2, 'p/a', '1'), put(3, 'p/a', '2', 'other')], []).join()).toMatch(/prev value/);
  });
});
