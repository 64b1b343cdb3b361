// The server-facing delivery API of a watcher: pullMerged() merges consecutive queued
// revisions (within the event and byte caps, never across fragments, progress or cancel
// responses), the readable listener fires only on the empty-to-ready transition, and synced
// watchers with the same filter key share one events array per commit.
import { afterAll, describe, expect, it } from 'vitest';
import { WatchableStore } from '../../src/mvcc/watchable-store.js';
import type { MergedWatchResponse, Watcher } from '../../src/mvcc/watcher.js';
import { cleanup, engines } from '../storage/backend/engines.js';
import { b, Log, s } from './helpers.js';

afterAll(cleanup);

const drainMerged = (w: Watcher): MergedWatchResponse[] => {
  const out: MergedWatchResponse[] = [];
  for (let r = w.pullMerged(); r !== undefined; r = w.pullMerged()) out.push(r);
  return out;
};
const shape = (r: MergedWatchResponse): string =>
  `rev=${r.revision} x${r.merged}${r.fragment === true ? ' fragment' : ''}${r.progress === true ? ' progress' : ''}${r.canceled === true ? ' canceled' : ''} [${r.segments.map((seg) => seg.map((e) => s(e.kv.key)).join(',')).join(' | ')}]`;

describe.each(engines)('watcher merging on $name', (engine) => {
  const setup = (options = {}): { log: Log; watchable: WatchableStore } => {
    const log = Log.open(engine.create());
    return { log, watchable: new WatchableStore(log.store, options) };
  };

  it('merges consecutive revisions up to maxEventsPerBatch events, each revision whole', () => {
    const { log, watchable } = setup({ maxEventsPerBatch: 5 });
    const w = watchable.watch({ key: b('a'), rangeEnd: b('z') });
    log.put('a', '1'); // 2
    log.apply({ txn: { success: ['b', 'c'].map((key) => ({ put: { key: b(key), value: b('v') } })) } }); // 3
    log.put('d', '1'); // 4
    log.apply({ txn: { success: ['e', 'f'].map((key) => ({ put: { key: b(key), value: b('v') } })) } }); // 5: would make 6 events
    log.put('g', '1'); // 6
    expect(drainMerged(w).map(shape)).toEqual(['rev=4 x3 [a | b,c | d]', 'rev=6 x2 [e,f | g]']);
    expect(w.hasQueuedResponses).toBe(false);
  });

  it('keeps merged responses under maxResponseBytes', () => {
    const { log, watchable } = setup({ maxResponseBytes: 400 });
    const w = watchable.watch({ key: b('k') });
    for (let i = 0; i < 4; i += 1) log.put('k', 'x'.repeat(100)); // ~160 estimated bytes each
    expect(drainMerged(w).map((r) => r.merged)).toEqual([2, 2]);
  });

  it('never merges a fragment, the tail of a fragmented revision, a progress or a cancel response', () => {
    const { log, watchable } = setup({ maxResponseBytes: 350 });
    const w = watchable.watch({ key: b('a'), rangeEnd: b('z'), fragment: true, progressNotify: true });
    log.put('a', '1'); // 2
    // 3: two fragments, [b,c] and a small tail [d,e] that would fit with revisions 4 and 5.
    log.apply({ txn: { success: ['b', 'c', 'd', 'e'].map((key) => ({ put: { key: b(key), value: b(key < 'd' ? 'x'.repeat(100) : '1') } })) } });
    log.put('f', '1'); // 4
    log.put('g', '1'); // 5
    expect(drainMerged(w).map(shape)).toEqual(['rev=2 x1 [a]', 'rev=3 x1 fragment [b,c]', 'rev=3 x1 [d,e]', 'rev=5 x2 [f | g]']);
    watchable.notifyProgress(); // events since the last tick: none this time
    watchable.notifyProgress();
    log.put('h', '1'); // 6
    expect(drainMerged(w).map(shape)).toEqual(['rev=5 x1 progress []', 'rev=6 x1 [h]']);
    log.put('i', '1'); // 7
    log.compact(7);
    const behind = watchable.watch({ key: b('a'), startRevision: 2 });
    expect(drainMerged(behind).map(shape)).toEqual(['rev=0 x1 canceled []']);
  });

  it('tells the readable listener only when the watcher goes from empty to ready, and on cancel', () => {
    const { log, watchable } = setup();
    const w = watchable.watch({ key: b('k') });
    let calls = 0;
    w.setReadableListener(() => { calls += 1; });
    log.put('k', '1');
    log.put('k', '2');
    expect(calls).toBe(1);
    expect(w.pullMerged()?.merged).toBe(2);
    log.put('k', '3');
    expect(calls).toBe(2);
    w.cancel();
    expect(calls).toBe(3);
    expect(w.isCanceled).toBe(true);
    expect(w.pullMerged()).toBeUndefined();
  });

  it('gives synced watchers with the same filter key the same events array', () => {
    const { log, watchable } = setup();
    const one = watchable.watch({ key: b('k/'), rangeEnd: b('k0') });
    const two = watchable.watch({ key: b('k/'), rangeEnd: b('k0') });
    const withPrev = watchable.watch({ key: b('k/'), rangeEnd: b('k0'), prevKv: true });
    const single = watchable.watch({ key: b('k/a') });
    expect(one.filterKey).toBe(two.filterKey);
    expect(withPrev.filterKey).not.toBe(one.filterKey);
    log.put('k/a', '1');
    log.put('k/a', '2');
    const [a, b2, c, d] = [one, two, withPrev, single].map((w) => w.pullMerged()!.segments);
    expect(a![0]).toBe(b2![0]);
    expect(a![1]).toBe(b2![1]);
    expect(c![1]).not.toBe(a![1]);
    expect(c![1]![0]!.prevKv).toBeDefined();
    expect(a![1]![0]!.prevKv).toBeUndefined();
    expect(d!.map((seg) => seg.length)).toEqual([1, 1]);
  });
});
