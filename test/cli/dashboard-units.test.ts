// The dashboard's pure parts: Prometheus text sums, rates from two scrapes (ops/s, mean fsync
// latency, watch events/s) with an injected fetch and explicit times, "unavailable" with the
// reason, the bounded series; locks/elections/barriers/services derived from mirrored keys in
// etcd's recipe layout; and --listen-dashboard-url validation.
import { describe, expect, it } from 'vitest';
import { sumPrometheusSamples } from '../../src/cli/dashboard/prometheus-text.js';
import { MAX_POINTS, MetricsSampler } from '../../src/cli/dashboard/metrics-sampler.js';
import { recipes, services } from '../../src/cli/dashboard/kv-view.js';
import type { MirroredKey } from '../../src/cli/dashboard/kv-view.js';
import { serverSettings } from '../../src/cli/server-flags.js';

const metrics = (puts: number, fsyncSum: number, fsyncCount: number, events: number): string => `# HELP etcd_mvcc_put_total Total number of puts seen by this member.
# TYPE etcd_mvcc_put_total counter
etcd_mvcc_put_total ${puts}
etcd_mvcc_range_total 10
grpc_server_handled_total{grpc_code="OK",grpc_method="Range"} 3
grpc_server_handled_total{grpc_code="OK",grpc_method="Put"} 4
etcd_disk_wal_fsync_duration_seconds_sum ${fsyncSum}
etcd_disk_wal_fsync_duration_seconds_count ${fsyncCount}
etcd_debugging_mvcc_events_total ${events}
weird_metric NaN
`;

describe('Prometheus text', () => {
  it('sums samples per name over label sets and skips comments and non-finite values', () => {
    const samples = sumPrometheusSamples(metrics(5, 0.5, 10, 7));
    expect(samples.get('etcd_mvcc_put_total')).toBe(5);
    expect(samples.get('grpc_server_handled_total')).toBe(7);
    expect(samples.has('weird_metric')).toBe(false);
  });
});

describe('MetricsSampler', () => {
  it('turns two scrapes into rates, and marks a member unavailable with the reason', async () => {
    const bodies = [metrics(100, 1.0, 100, 50), metrics(300, 1.5, 150, 90)];
    const sampler = new MetricsSampler(async () => bodies.shift() ?? Promise.reject(new Error('HTTP 404 from x')));
    const signal = new AbortController().signal;
    await sampler.scrape('http://m1', 10_000, signal);
    expect(sampler.get('http://m1')).toEqual({ available: true, points: [] });
    await sampler.scrape('http://m1', 12_000, signal);
    const [point] = sampler.get('http://m1').points;
    // 200 puts in 2 s; 0.5 s over 50 fsyncs = 10 ms each; 40 events in 2 s.
    expect(point).toEqual({ t: 12, opsPerSecond: 100, fsyncMs: 10, watchEventsPerSecond: 20 });
    await sampler.scrape('http://m1', 14_000, signal);
    expect(sampler.get('http://m1')).toMatchObject({ available: false, reason: 'HTTP 404 from x', points: [point] });
    expect(sampler.get('http://never')).toMatchObject({ available: false, reason: 'not scraped yet' });
  });

  it('counts the KV calls a member handled when it exports no etcd_mvcc_* counters (Conclave)', async () => {
    let calls = 0;
    const kv = (): string => `grpc_server_handled_total{grpc_type="unary",grpc_service="etcdserverpb.KV",grpc_method="Put",grpc_code="OK"} ${calls}
grpc_server_handled_total{grpc_type="unary",grpc_service="etcdserverpb.KV",grpc_method="Range",grpc_code="OK"} ${calls}
grpc_server_handled_total{grpc_type="unary",grpc_service="etcdserverpb.Lease",grpc_method="LeaseGrant",grpc_code="OK"} 1000
`;
    const sampler = new MetricsSampler(async () => kv());
    const signal = new AbortController().signal;
    await sampler.scrape('http://c', 0, signal);
    calls = 30;
    await sampler.scrape('http://c', 2_000, signal);
    // 2 x 30 KV calls in 2 s; the Lease calls do not count.
    expect(sampler.get('http://c')).toMatchObject({ available: true, points: [{ t: 2, opsPerSecond: 30, fsyncMs: null, watchEventsPerSecond: 0 }] });
  });

  it('refuses a /metrics without etcd counters and keeps at most MAX_POINTS points', async () => {
    const empty = new MetricsSampler(async () => 'up 1\n');
    await empty.scrape('http://m', 0, new AbortController().signal);
    expect(empty.get('http://m')).toMatchObject({ available: false, reason: 'no etcd_mvcc_* counters or KV call counts in /metrics' });
    let puts = 0;
    const busy = new MetricsSampler(async () => metrics((puts += 1), 0, 0, 0));
    for (let i = 0; i <= MAX_POINTS + 10; i++) await busy.scrape('http://m', i * 1000, new AbortController().signal);
    const points = busy.get('http://m').points;
    expect(points).toHaveLength(MAX_POINTS);
    expect(points.at(-1)).toEqual({ t: MAX_POINTS + 10, opsPerSecond: 1, fsyncMs: null, watchEventsPerSecond: 0 });
  });
});

const kv = (key: string, createRevision: number, lease: bigint, value = '', firstSeenMs?: number): MirroredKey => ({
  key, value, createRevision: BigInt(createRevision), modRevision: BigInt(createRevision), version: 1n, lease, firstSeenMs,
});

describe('recipes and services from mirrored keys', () => {
  it('orders lock waiters by create revision, tells elections (valued keys) from locks, and finds double barriers', () => {
    const keys = [
      kv('jobs/nightly/1b', 12, 0x1bn, '', 5_000), kv('jobs/nightly/1a', 10, 0x1an), kv('jobs/nightly/1c', 11, 0x1cn, '', 4_000),
      kv('leader/2a', 20, 0x2an, 'node-b'), kv('leader/29', 19, 0x29n, 'node-a'),
      kv('gate/waiters/3a', 30, 0x3an), kv('gate/waiters/3b', 31, 0x3bn), kv('gate/ready', 32, 0n),
      // Not recipe keys: no lease, or a last segment that is not the key's own lease.
      kv('config/ff', 40, 0n), kv('cache/abc', 41, 0x99n),
      kv('services/api/1', 50, 0x50n, '{"Op":0,"Addr":"10.0.0.1:80","Metadata":{"z":1}}'),
      kv('services/api/2', 51, 0x51n, '{"Op":0,"Addr":"10.0.0.2:80","Healthy":false}'),
      kv('services/api/junk', 52, 0x52n, 'not json'),
    ];
    const { locks, elections, barriers } = recipes(keys, 'services/');
    expect(locks).toEqual([{
      name: 'jobs/nightly',
      holder: { key: 'jobs/nightly/1a', lease: '1a', token: '10', value: '', sinceMs: null },
      waiters: [{ key: 'jobs/nightly/1c', lease: '1c', token: '11', value: '', sinceMs: 4_000 }, { key: 'jobs/nightly/1b', lease: '1b', token: '12', value: '', sinceMs: 5_000 }],
    }]);
    expect(elections.map((e) => [e.name, e.leader.value, e.candidates.map((c) => c.value)])).toEqual([['leader', 'node-a', ['node-b']]]);
    expect(barriers.map((b) => [b.name, 1 + b.waiters.length])).toEqual([['gate', 2]]);
    expect(services(keys, 'services/')).toEqual([
      { service: 'api', id: '1', address: '10.0.0.1:80', healthy: true, lease: '50', metadata: { z: 1 } },
      { service: 'api', id: '2', address: '10.0.0.2:80', healthy: false, lease: '51', metadata: {} },
    ]);
  });
});

describe('--listen-dashboard-url', () => {
  it('takes http://host:port and refuses anything else', () => {
    expect(serverSettings(new Map([['listen-dashboard-url', 'http://127.0.0.1:2390']])).dashboardUrl).toBe('http://127.0.0.1:2390/');
    expect(serverSettings(new Map()).dashboardUrl).toBeUndefined();
    for (const bad of ['127.0.0.1:2390', 'https://127.0.0.1:2390', 'http://127.0.0.1', 'http://127.0.0.1:2390/dash']) {
      expect(() => serverSettings(new Map([['listen-dashboard-url', bad]])), bad).toThrow(/--listen-dashboard-url must be/);
    }
  });
});
