// Example tests of the watchable store's protocol details (reference section 2.8): the
// compaction cancel, the empty-range refusal, header revisions while catching up,
// progress notifications, fragmentation, victims, prev_kv, and the async pull API with
// AbortSignal. The exhaustive event-delivery check is watch.property.test.ts.
import { afterAll, describe, expect, it } from 'vitest';
import { prefixEnd } from '../../src/mvcc/key-range.js';
import { WatchableStore, WatchCreateError } from '../../src/mvcc/watchable-store.js';
import type { WatchResponse } from '../../src/mvcc/watch-types.js';
import type { Watcher } from '../../src/mvcc/watcher.js';
import { cleanup, engines } from '../storage/backend/engines.js';
import { b, kvText, Log, s } from './helpers.js';

afterAll(cleanup);

const drain = (w: Watcher): WatchResponse[] => {
  const out: WatchResponse[] = [];
  for (let r = w.pull(); r !== undefined; r = w.pull()) out.push(r);
  return out;
};
const summary = (r: WatchResponse): string =>
  `rev=${r.revision}${r.canceled ? ` canceled compact=${r.compactRevision}` : ''}${r.fragment ? ' fragment' : ''}${r.progress ? ' progress' : ''} [${r.events.map((e) => `${e.type} ${kvText(e.kv)}${e.prevKv ? ` prev=${kvText(e.prevKv)}` : ''}`).join(', ')}]`;

describe.each(engines)('watchable store on $name', (engine) => {
  const setup = (options = {}): { log: Log; watchable: WatchableStore } => {
    const log = Log.open(engine.create());
    return { log, watchable: new WatchableStore(log.store, options) };
  };

  it('replays history with the current revision in the header, then follows live with the change revision', () => {
    const { log, watchable } = setup();
    log.put('a', '1'); // 2
    log.put('a', '2'); // 3
    const w = watchable.watch({ key: b('a'), startRevision: 2, prevKv: true });
    expect(w.state).toBe('unsynced');
    log.del('a'); // 4
    expect(drain(w).map(summary)).toEqual(['rev=4 [put a=1@2/2/1, put a=2@2/3/2 prev=a=1@2/2/1, delete a=@0/4/0 prev=a=2@2/3/2]']);
    expect(w.isSynced).toBe(true);
    log.put('a', '3'); // 5
    log.put('b', 'x'); // 6: not watched
    expect(drain(w).map(summary)).toEqual(['rev=5 [put a=3@5/5/1]']);
  });

  it('cancels a start revision below the compaction point with compact_revision and header revision 0', () => {
    const { log, watchable } = setup();
    log.put('a', '1');
    log.put('a', '2');
    log.put('a', '3'); // 4
    log.compact(3);
    const w = watchable.watch({ key: b('a'), startRevision: 2 });
    expect(drain(w).map(summary)).toEqual(['rev=0 canceled compact=3 []']);
    expect(w.state).toBe('canceled');
    const atCompaction = watchable.watch({ key: b('a'), startRevision: 3 });
    expect(drain(atCompaction).map(summary)).toEqual(['rev=4 [put a=2@2/3/2, put a=3@2/4/3]']);
  });

  it('still delivers a delete made at exactly the compaction revision to a watch starting there', () => {
    const { log, watchable } = setup();
    log.put('a', '1'); // 2
    log.put('b', '1'); // 3
    log.del('a'); // 4
    log.compact(4);
    const w = watchable.watch({ key: b('a'), rangeEnd: b('c'), startRevision: 4 });
    expect(drain(w).map(summary)).toEqual(['rev=4 [delete a=@0/4/0]']);
  });

  it('cancels a slow watcher that fell behind a compaction, after what it had buffered', () => {
    const { log, watchable } = setup({ maxBufferedEvents: 1 });
    const w = watchable.watch({ key: b('k') });
    log.put('k', '1'); // 2, buffered
    log.put('k', '2'); // 3: buffer full, victim
    expect(watchable.stats()).toEqual({ synced: 0, unsynced: 0, victim: 1 });
    log.put('k', '3'); // 4
    log.compact(4);
    expect(drain(w).map(summary)).toEqual(['rev=2 [put k=1@2/2/1]', 'rev=0 canceled compact=4 []']);
  });

  it('refuses an empty range with etcd text and bounds the number of watchers', () => {
    const { watchable } = setup({ maxWatchers: 1 });
    expect(() => watchable.watch({ key: b('b'), rangeEnd: b('a') })).toThrow(new WatchCreateError('mvcc: watcher range is empty', 'ERR_WATCH_RANGE_EMPTY'));
    watchable.watch({ key: new Uint8Array(0), rangeEnd: new Uint8Array([0]) }); // empty key means \0
    expect(() => watchable.watch({ key: b('a') })).toThrow(/too many watchers/);
  });

  it('filters NOPUT and NODELETE, and watches prefixes and from-key ranges', () => {
    const { log, watchable } = setup();
    const noPut = watchable.watch({ key: b('p'), rangeEnd: prefixEnd(b('p')), noPut: true });
    const noDelete = watchable.watch({ key: b('p'), rangeEnd: new Uint8Array([0]), noDelete: true });
    log.put('p1', 'x');
    log.put('q', 'y');
    log.del('p1');
    expect(drain(noPut).map(summary)).toEqual(['rev=4 [delete p1=@0/4/0]']);
    expect(drain(noDelete).map(summary)).toEqual(['rev=2 [put p1=x@2/2/1]', 'rev=3 [put q=y@3/3/1]']);
  });

  it('keeps all events of a txn in one response, and one revision per response while synced', () => {
    const { log, watchable } = setup();
    const w = watchable.watch({ key: b('a'), rangeEnd: b('z') });
    log.apply({ txn: { success: [{ put: { key: b('m'), value: b('1') } }, { put: { key: b('c'), value: b('2') } }] } });
    expect(drain(w).map(summary)).toEqual(['rev=2 [put m=1@2/2/1, put c=2@2/2/1]']);
  });

  it('sends progress notifications only to synced watchers that asked and got no events since the last tick', () => {
    const { log, watchable } = setup();
    const w = watchable.watch({ key: b('k'), progressNotify: true });
    const silent = watchable.watch({ key: b('k') });
    log.put('other', '1'); // 2
    watchable.notifyProgress();
    expect(drain(w).map(summary)).toEqual(['rev=2 progress []']);
    log.put('k', '1'); // 3
    watchable.notifyProgress(); // events since the last tick: no progress
    expect(drain(w).map(summary)).toEqual(['rev=3 [put k=1@3/3/1]']);
    watchable.notifyProgress();
    expect(drain(w).map(summary)).toEqual(['rev=3 progress []']);
    expect(drain(silent)).toHaveLength(1);
    const behind = watchable.watch({ key: b('k'), startRevision: 2, progressNotify: true });
    watchable.notifyProgress(); // unsynced: no progress until caught up
    expect(drain(behind).map(summary)).toEqual(['rev=3 [put k=1@3/3/1]']);
  });

  it('fragments a large response only when the watcher allows it', () => {
    const { log, watchable } = setup({ maxResponseBytes: 350 });
    const fragmented = watchable.watch({ key: b('a'), rangeEnd: b('z'), fragment: true });
    const whole = watchable.watch({ key: b('a'), rangeEnd: b('z') });
    const big = 'x'.repeat(100);
    log.apply({ txn: { success: ['b', 'c', 'd', 'e'].map((key) => ({ put: { key: b(key), value: b(big) } })) } });
    const parts = drain(fragmented);
    expect(parts.map((p) => [p.events.length, p.fragment === true])).toEqual([[2, true], [2, false]]);
    expect(parts.flatMap((p) => p.events.map((e) => s(e.kv.key)))).toEqual(['b', 'c', 'd', 'e']);
    expect(drain(whole).map((p) => p.events.length)).toEqual([4]);
  });

  it('never blocks writes on a slow consumer: it becomes a victim, then catches up from history', () => {
    const { log, watchable } = setup({ maxBufferedEvents: 2, maxEventsPerBatch: 3 });
    const slow = watchable.watch({ key: b('k') });
    for (let i = 0; i < 10; i += 1) log.put('k', String(i)); // revisions 2..11
    expect(watchable.stats().victim).toBe(1);
    const responses = drain(slow);
    expect(responses.flatMap((r) => r.events.map((e) => e.kv.modRevision))).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(responses.map((r) => r.revision)).toEqual([2, 3, 11, 11, 11]); // buffered, then history batches
    expect(watchable.stats()).toEqual({ synced: 1, unsynced: 0, victim: 0 });
  });

  it('serves responses through an async iterator that waits and honours AbortSignal and cancel', async () => {
    const { log, watchable } = setup();
    const w = watchable.watch({ key: b('k') });
    const pending = w.next();
    log.put('k', 'v');
    expect(summary((await pending)!)).toBe('rev=2 [put k=v@2/2/1]');
    const controller = new AbortController();
    const aborted = w.next(controller.signal);
    controller.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
    const seen: string[] = [];
    const loop = (async () => {
      for await (const response of w) seen.push(summary(response));
    })();
    log.put('k', 'w');
    await new Promise((resolve) => setImmediate(resolve));
    w.cancel();
    await loop;
    expect(seen).toEqual(['rev=3 [put k=w@2/3/2]']);
  });
});
