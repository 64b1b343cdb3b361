// Watch property test: random writes (puts, range deletes, multi-put txns, compactions)
// interleaved with random watchers (start revisions past, present and future; key, prefix,
// from-key and range watches; NOPUT/NODELETE; prev_kv) and random consumer pacing, with
// tiny buffers and batches so that watchers fall behind, become victims and catch up from
// history. Each watcher must receive exactly the events of its range from its start
// revision, in order, once; a watcher cancelled for compaction must have received a
// prefix of them and have been behind the compaction point. A separate simulation of the
// writes (a Map plus an event list) gives the expected events.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { prefixEnd } from '../../src/mvcc/key-range.js';
import type { MvccEvent } from '../../src/mvcc/types.js';
import { WatchableStore } from '../../src/mvcc/watchable-store.js';
import type { WatchResponse } from '../../src/mvcc/watch-types.js';
import type { Watcher } from '../../src/mvcc/watcher.js';
import { cleanup, engines } from '../storage/backend/engines.js';
import { b, Log, s } from './helpers.js';

afterAll(cleanup);

interface SimKv { value: string; create: number; mod: number; version: number }
interface SimEvent { rev: number; type: 'put' | 'delete'; key: string; kv?: SimKv; prev?: SimKv }

type Step =
  | { kind: 'put'; key: string; value: string }
  | { kind: 'del'; key: string; end?: string }
  | { kind: 'txn'; keys: string[] }
  | { kind: 'compact'; back: number }
  | { kind: 'watch'; key: string; range: 'single' | 'prefix' | 'from' | 'to-c'; start: 'now' | 'past' | 'future'; offset: number; noPut: boolean; noDelete: boolean; prevKv: boolean }
  | { kind: 'pull'; watcher: number; count: number };

const keyArb = fc.constantFrom('a', 'ab', 'b', 'ba', 'c', 'd');
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('put' as const), key: keyArb, value: fc.constantFrom('1', '2', '3') }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('del' as const), key: keyArb, end: fc.option(fc.constantFrom('b', 'c', 'e'), { nil: undefined }) }, { requiredKeys: ['kind', 'key'] }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('txn' as const), keys: fc.uniqueArray(keyArb, { minLength: 1, maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('compact' as const), back: fc.nat(4) }) },
  { weight: 2, arbitrary: fc.record({
    kind: fc.constant('watch' as const), key: keyArb, range: fc.constantFrom('single' as const, 'prefix' as const, 'from' as const, 'to-c' as const),
    start: fc.constantFrom('now' as const, 'past' as const, 'future' as const), offset: fc.nat(6), noPut: fc.boolean(), noDelete: fc.boolean(), prevKv: fc.boolean(),
  }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('pull' as const), watcher: fc.nat(20), count: fc.integer({ min: 1, max: 3 }) }) },
);

interface Tracked {
  watcher: Watcher;
  matches: (key: string) => boolean;
  start: number;
  noPut: boolean;
  noDelete: boolean;
  prevKv: boolean;
  responses: WatchResponse[];
}

let victimsSeen = 0;
let cancelsSeen = 0;
let catchUpsSeen = 0;

function runScenario(engineIndex: number, steps: Step[]): void {
  const log = Log.open(engines[engineIndex]!.create({ batchOps: 64 }));
  const watchable = new WatchableStore(log.store, { maxBufferedEvents: 2, maxEventsPerBatch: 2 });
  const state = new Map<string, SimKv>();
  const events: SimEvent[] = [];
  const tracked: Tracked[] = [];
  const pull = (t: Tracked, count: number): void => {
    for (let i = 0; i < count; i += 1) {
      const response = t.watcher.pull();
      if (response === undefined) return;
      t.responses.push(response);
    }
  };
  for (const step of steps) {
    const rev = log.store.currentRevision + 1;
    switch (step.kind) {
      case 'put':
      case 'txn': {
        const keys = step.kind === 'put' ? [step.key] : step.keys;
        const value = step.kind === 'put' ? step.value : 't';
        if (step.kind === 'put') log.put(step.key, step.value);
        else log.apply({ txn: { success: keys.map((key) => ({ put: { key: b(key), value: b(value) } })) } });
        for (const key of keys) {
          const prev = state.get(key);
          const kv = { value, create: prev?.create ?? rev, mod: rev, version: (prev?.version ?? 0) + 1 };
          state.set(key, kv);
          events.push({ rev, type: 'put', key, kv, ...(prev === undefined ? {} : { prev }) });
        }
        break;
      }
      case 'del': {
        log.del(step.key, step.end);
        const victims = [...state.keys()].filter((k) => (step.end === undefined ? k === step.key : k >= step.key && k < step.end)).sort();
        for (const key of victims) {
          events.push({ rev, type: 'delete', key, prev: state.get(key)! });
          state.delete(key);
        }
        break;
      }
      case 'compact': {
        const target = log.store.currentRevision - step.back;
        if (target > log.store.compactRevision) log.compact(target);
        break;
      }
      case 'watch': {
        const key = b(step.key);
        const rangeEnd = { single: undefined, prefix: prefixEnd(key), from: new Uint8Array([0]), 'to-c': b('c') }[step.range];
        if (step.range === 'to-c' && step.key >= 'c') break; // empty range: refused, tested elsewhere
        const current = log.store.currentRevision;
        const start = step.start === 'now' ? 0 : step.start === 'past' ? Math.max(1, current - step.offset) : current + 1 + step.offset;
        const watcher = watchable.watch({ key, ...(rangeEnd === undefined ? {} : { rangeEnd }), startRevision: start, noPut: step.noPut, noDelete: step.noDelete, prevKv: step.prevKv });
        const end = rangeEnd === undefined ? undefined : s(rangeEnd);
        tracked.push({
          watcher, start: start === 0 ? current + 1 : start, noPut: step.noPut, noDelete: step.noDelete, prevKv: step.prevKv, responses: [],
          matches: (k) => (end === undefined ? k === step.key : end === '\0' ? k >= step.key : k >= step.key && k < end),
        });
        break;
      }
      case 'pull': {
        const t = tracked[step.watcher % Math.max(1, tracked.length)];
        if (t !== undefined) pull(t, step.count);
        break;
      }
    }
    victimsSeen += watchable.stats().victim;
  }
  for (const t of tracked) pull(t, 1_000_000);

  for (const t of tracked) {
    const expected = events.filter((e) => e.rev >= t.start && t.matches(e.key) && !(e.type === 'put' && t.noPut) && !(e.type === 'delete' && t.noDelete));
    const got: MvccEvent[] = t.responses.flatMap((r) => r.events);
    const cancel = t.responses.find((r) => r.canceled);
    if (t.responses.some((r) => r.events.length > 0 && r.revision > r.events[r.events.length - 1]!.kv.modRevision)) catchUpsSeen += 1;
    // Event order, uniqueness and content.
    expect(got.length).toBeLessThanOrEqual(expected.length);
    got.forEach((event, i) => {
      const want = expected[i]!;
      expect([event.type, s(event.kv.key), event.kv.modRevision]).toEqual([want.type, want.key, want.rev]);
      if (want.kv !== undefined) expect([s(event.kv.value), event.kv.createRevision, event.kv.version]).toEqual([want.kv.value, want.kv.create, want.kv.version]);
      if (!t.prevKv) expect(event.prevKv).toBeUndefined();
      else if (event.prevKv !== undefined) expect([s(event.prevKv.value), event.prevKv.modRevision]).toEqual([want.prev!.value, want.prev!.mod]);
      else expect(want.prev === undefined || want.rev - 1 < log.store.compactRevision).toBe(true);
    });
    // Responses: events within a response ascend; a revision never spans two responses.
    const seenRevs = new Set<number>();
    for (const r of t.responses) {
      let last = 0;
      for (const e of r.events) {
        expect(e.kv.modRevision).toBeGreaterThanOrEqual(last);
        expect(e.kv.modRevision).toBeLessThanOrEqual(r.revision);
        if (e.kv.modRevision !== last) expect(seenRevs.has(e.kv.modRevision)).toBe(false);
        last = e.kv.modRevision;
        seenRevs.add(last);
      }
    }
    if (cancel === undefined) {
      expect(got.length).toBe(expected.length);
    } else {
      cancelsSeen += 1;
      expect(t.responses[t.responses.length - 1]).toBe(cancel);
      const lastRev = got.length > 0 ? got[got.length - 1]!.kv.modRevision : t.start - 1;
      expect(cancel.compactRevision!).toBeGreaterThan(lastRev + 1 > t.start ? lastRev + 1 : t.start);
      expect(cancel.revision).toBe(0);
    }
  }
  watchable.close();
  log.store.backend.close();
}

describe.each(engines.map((engine, index) => ({ name: engine.name, index })))('watch property on $name', ({ index }) => {
  it('delivers each watcher exactly its events, in order, once', () => {
    victimsSeen = 0;
    cancelsSeen = 0;
    catchUpsSeen = 0;
    fc.assert(fc.property(fc.array(stepArb, { minLength: 10, maxLength: 60, size: 'max' }), (steps) => runScenario(index, steps)), { numRuns: 150 });
    // The scenarios must actually exercise the slow paths.
    expect(victimsSeen).toBeGreaterThan(0);
    expect(cancelsSeen).toBeGreaterThan(0);
    expect(catchUpsSeen).toBeGreaterThan(0);
  });
});
