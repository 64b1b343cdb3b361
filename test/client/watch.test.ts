// Method: a real etcd member behind a TCP proxy we can cut. Watchers on the client's shared
// stream must see every event exactly once and in revision order while connections are cut
// during a stream of writes (resumption from the last received revision + 1); a start revision
// below the compaction point ends the watcher with WatchCompactedError; a slow consumer whose
// buffer fills is parked and resumed without losing or repeating events.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/base/index.js';
import { Client, WatchCompactedError } from '../../src/client/index.js';
import type { WatchEvent, Watcher } from '../../src/client/index.js';
import { missingBinaries } from '../support/binaries.js';
import { startEtcd } from '../support/etcd.js';
import type { EtcdCluster } from '../support/etcd.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { waitFor } from '../support/wait.js';

const skip = missingBinaries('etcd');

async function collect(watcher: Watcher, count: number): Promise<WatchEvent[]> {
  const events: WatchEvent[] = [];
  if (count === 0) return events;
  for await (const event of watcher) {
    events.push(event);
    if (events.length === count) break;
  }
  return events;
}

describe.skipIf(skip !== undefined)('watch against etcd', () => {
  let etcd: EtcdCluster;
  let proxy: TcpProxy;
  let writer: Client;

  beforeAll(async () => {
    etcd = await startEtcd();
    const [host, port] = etcd.endpoints[0]!.split(':');
    proxy = new TcpProxy(host!, Number(port));
    await proxy.start();
    writer = new Client({ endpoints: etcd.endpoints });
  });

  afterAll(async () => {
    await writer?.close();
    await proxy?.stop();
    await etcd?.stop();
  });

  it('delivers puts and deletes with prevKv in order', async () => {
    const watcher = writer.watch('w1/', { prefix: true, prevKv: true });
    await watcher.ready();
    await writer.put('w1/a', '1');
    await writer.put('w1/a', '2');
    await writer.delete('w1/a');
    const events = await collect(watcher, 3);
    expect(events.map((e) => [e.type, e.kv.key, e.kv.value])).toEqual([['put', 'w1/a', '1'], ['put', 'w1/a', '2'], ['delete', 'w1/a', '']]);
    expect(events[1]!.prevKv?.value).toBe('1');
    expect(events[2]!.revision).toBeGreaterThan(events[1]!.revision);
  });

  it('replays history from a start revision and ends with a typed error when it was compacted', async () => {
    const first = await writer.put('w2/a', '1');
    await writer.put('w2/a', '2');
    const replay = writer.watch('w2/a', { startRevision: first.header.revision });
    expect((await collect(replay, 2)).map((e) => e.kv.value)).toEqual(['1', '2']);
    const third = await writer.put('w2/a', '3');
    await writer.compact(third.header.revision);
    const stale = writer.watch('w2/a', { startRevision: first.header.revision });
    const error = await collect(stale, 1).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(WatchCompactedError);
    expect((error as WatchCompactedError).compactRevision).toBe(third.header.revision);
  });

  it('every watcher sees every event once, in order, while connections are cut', async () => {
    const reader = new Client({ endpoints: [proxy.endpoint], retry: { retries: 10, minDelayMs: 10, maxDelayMs: 100 } });
    const total = 300;
    try {
      const watchers = [reader.watch('w3/', { prefix: true }), reader.watch('w3/', { prefix: true }), reader.watch('w3/k0', { rangeEnd: 'w3/k5' })];
      await Promise.all(watchers.map((w) => w.ready()));
      const expected: Array<[string, string]> = [];
      const writes = (async () => {
        for (let i = 0; i < total; i += 1) {
          const key = `w3/k${i % 10}`;
          await writer.put(key, String(i));
          expected.push([key, String(i)]);
          if (i % 40 === 20) proxy.cutAll();
        }
      })();
      const [all1, all2, ranged] = await Promise.all([collect(watchers[0]!, total), collect(watchers[1]!, total), collect(watchers[2]!, total / 2)]);
      await writes;
      expect(proxy.cuts).toBeGreaterThanOrEqual(7);
      expect(reader.streamStats().watchStreams).toBeGreaterThan(1);
      for (const events of [all1, all2]) expect(events.map((e) => [e.kv.key, e.kv.value])).toEqual(expected);
      expect(ranged.map((e) => [e.kv.key, e.kv.value])).toEqual(expected.filter(([key]) => key < 'w3/k5'));
      const revisions = all1.map((e) => e.revision);
      expect(revisions).toEqual([...revisions].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      expect(new Set(revisions).size).toBe(total);
    } finally {
      await reader.close();
    }
  });

  it.each([11, 29])('seeded chaos %i: cuts, stream interrupts, parking and slow consumers together lose and repeat nothing', async (seed) => {
    const random = new SeededRandom(seed);
    const reader = new Client({ endpoints: [proxy.endpoint], watchBufferEvents: 16, retry: { retries: 10, minDelayMs: 10, maxDelayMs: 100 } });
    const prefix = `w7-${seed}/`;
    const total = 200;
    try {
      const start = (await writer.put(`${prefix}k0`, 'start')).header.revision;
      // One watcher replays history from `start`; one starts now; one starts now on half the keys.
      const watchers = [
        reader.watch(prefix, { prefix: true, startRevision: start }),
        reader.watch(prefix, { prefix: true }),
        reader.watch(`${prefix}k0`, { rangeEnd: `${prefix}k5` }),
      ];
      await Promise.all(watchers.map((w) => w.ready()));
      const expected: Array<[string, string]> = [];
      const writes = (async () => {
        for (let i = 0; i < total; i += 1) {
          const key = `${prefix}k${random.int(10)}`;
          if (random.chance(0.2)) {
            // A txn writing two keys: both events share one revision and must arrive together.
            const other = `${prefix}k${(Number(key.slice(-1)) + 1) % 10}`;
            await writer.txn().do(writer.put(key, `${i}a`), writer.put(other, `${i}b`));
            expected.push([key, `${i}a`], [other, `${i}b`]);
          } else {
            await writer.put(key, String(i));
            expected.push([key, String(i)]);
          }
          if (random.chance(0.05)) proxy.cutAll();
          if (random.chance(0.03)) reader.interruptStreams();
        }
      })();
      const slowCollect = async (watcher: Watcher, count: number): Promise<WatchEvent[]> => {
        const events: WatchEvent[] = [];
        for await (const event of watcher) {
          events.push(event);
          if (random.chance(0.02)) await new Promise((resolve) => setTimeout(resolve, 15));
          if (events.length === count) break;
        }
        return events;
      };
      await writes;
      const inRange = expected.filter(([key]) => key < `${prefix}k5`);
      const [history, live, ranged] = await Promise.all([
        slowCollect(watchers[0]!, expected.length + 1), slowCollect(watchers[1]!, expected.length), slowCollect(watchers[2]!, inRange.length),
      ]);
      expect(history.map((e) => [e.kv.key, e.kv.value])).toEqual([[`${prefix}k0`, 'start'], ...expected]);
      expect(live.map((e) => [e.kv.key, e.kv.value])).toEqual(expected);
      expect(ranged.map((e) => [e.kv.key, e.kv.value])).toEqual(inRange);
      expect(watchers[0]!.parks + watchers[1]!.parks).toBeGreaterThan(0);
    } finally {
      await reader.close();
    }
  });

  it('parks a slow consumer and resumes it without loss or repetition', async () => {
    const reader = new Client({ endpoints: etcd.endpoints, watchBufferEvents: 8 });
    try {
      const watcher = reader.watch('w4/', { prefix: true });
      await watcher.ready();
      for (let i = 0; i < 60; i += 1) await writer.put(`w4/k${i}`, String(i));
      const events = await collect(watcher, 60);
      expect(events.map((e) => e.kv.value)).toEqual(Array.from({ length: 60 }, (_, i) => String(i)));
      expect(watcher.parks).toBeGreaterThan(0);
      expect(reader.streamStats().watchStreams).toBe(1);
    } finally {
      await reader.close();
    }
  });

  it('an idle watcher resumes after a compaction once progress has moved its resume point', async () => {
    const reader = new Client({ endpoints: [proxy.endpoint] });
    try {
      const watcher = reader.watch('w6/idle');
      const createdAt = await watcher.ready();
      expect(watcher.nextRevision).toBe(createdAt + 1n);
      let last = 0n;
      for (let i = 0; i < 20; i += 1) last = (await writer.put(`w6/other${i}`, 'x')).header.revision;
      await writer.compact(last);
      reader.requestWatchProgress();
      await waitFor(() => expect(watcher.nextRevision).toBe(last + 1n));
      proxy.cutAll();
      await writer.put('w6/idle', 'finally');
      const [event] = await collect(watcher, 1);
      expect(event!.kv.value).toBe('finally');
    } finally {
      await reader.close();
    }
  });

  it('ends iteration with the abort reason when its signal aborts', async () => {
    const controller = new AbortController();
    const watcher = writer.watch('w5/', { prefix: true, signal: controller.signal });
    await watcher.ready();
    const reason = new Error('done watching');
    setTimeout(() => controller.abort(reason), 20);
    await expect(collect(watcher, 1)).rejects.toBe(reason);
  });
});
