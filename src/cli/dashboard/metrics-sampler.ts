import { sumPrometheusSamples } from './prometheus-text.js';
import type { Samples } from './prometheus-text.js';
import { metricsFetcher } from './metrics-fetch.js';
import type { MetricsFetcher } from './metrics-fetch.js';

/** One chart point per member and scrape: rates over the interval since the previous scrape. */
export interface MetricsPoint {
  /** Unix time in seconds (uPlot's x axis). */
  readonly t: number;
  /**
   * Puts + deletes + ranges + txns per second (etcd_mvcc_*_total); on a member without those
   * counters (Conclave), the KV calls it handled per second (grpc_server_handled_total).
   */
  readonly opsPerSecond: number;
  /** Mean WAL fsync latency over the interval in ms (etcd_disk_wal_fsync_duration_seconds), null without fsyncs. */
  readonly fsyncMs: number | null;
  /** Watch events sent per second (etcd_debugging_mvcc_events_total). */
  readonly watchEventsPerSecond: number;
}

export interface MemberMetrics {
  readonly available: boolean;
  /** Why not, when unavailable ("HTTP 404", "connect ECONNREFUSED ..."). */
  readonly reason?: string;
  readonly points: readonly MetricsPoint[];
}

const OPS = ['etcd_mvcc_put_total', 'etcd_mvcc_delete_total', 'etcd_mvcc_range_total', 'etcd_mvcc_txn_total'];
const KV_CALLS_HANDLED = 'grpc_server_handled_total|etcdserverpb.KV';
const FSYNC_SUM = 'etcd_disk_wal_fsync_duration_seconds_sum';
const FSYNC_COUNT = 'etcd_disk_wal_fsync_duration_seconds_count';
const WATCH_EVENTS = 'etcd_debugging_mvcc_events_total';
/** Points kept per member: 5 minutes at the default 2 s scrape interval. */
export const MAX_POINTS = 150;

/** Scrapes members' /metrics and keeps a bounded series of rates per member URL. */
export class MetricsSampler {
  private readonly previous = new Map<string, { atMs: number; samples: Samples }>();
  private readonly series = new Map<string, MemberMetrics>();

  constructor(private readonly fetchText: MetricsFetcher = metricsFetcher()) {}

  /** Scrapes `clientUrl`/metrics once; failures mark the member's metrics unavailable. */
  async scrape(clientUrl: string, nowMs: number, signal: AbortSignal): Promise<void> {
    let samples: Samples;
    try {
      samples = sumPrometheusSamples(await this.fetchText(`${clientUrl.replace(/\/$/, '')}/metrics`, signal));
      if (!OPS.some((name) => samples.has(name)) && !samples.has(KV_CALLS_HANDLED)) throw new Error('no etcd_mvcc_* counters or KV call counts in /metrics');
    } catch (error) {
      this.previous.delete(clientUrl);
      this.series.set(clientUrl, { available: false, reason: describeFailure(error), points: this.series.get(clientUrl)?.points ?? [] });
      return;
    }
    const before = this.previous.get(clientUrl);
    this.previous.set(clientUrl, { atMs: nowMs, samples });
    const points = [...(this.series.get(clientUrl)?.points ?? [])];
    if (before !== undefined && nowMs > before.atMs) {
      const seconds = (nowMs - before.atMs) / 1000;
      const delta = (name: string): number => Math.max(0, (samples.get(name) ?? 0) - (before.samples.get(name) ?? 0));
      const fsyncs = delta(FSYNC_COUNT);
      points.push({
        t: nowMs / 1000,
        opsPerSecond: (OPS.some((name) => samples.has(name)) ? OPS.reduce((sum, name) => sum + delta(name), 0) : delta(KV_CALLS_HANDLED)) / seconds,
        fsyncMs: fsyncs === 0 ? null : (delta(FSYNC_SUM) / fsyncs) * 1000,
        watchEventsPerSecond: delta(WATCH_EVENTS) / seconds,
      });
      if (points.length > MAX_POINTS) points.splice(0, points.length - MAX_POINTS);
    }
    this.series.set(clientUrl, { available: true, points });
  }

  get(clientUrl: string): MemberMetrics {
    return this.series.get(clientUrl) ?? { available: false, reason: 'not scraped yet', points: [] };
  }

  /** Forgets members no longer in the cluster. */
  retain(clientUrls: readonly string[]): void {
    for (const url of [...this.series.keys()]) if (!clientUrls.includes(url)) this.series.delete(url);
  }
}

/** fetch() says only "fetch failed"; the cause says why (ECONNREFUSED, a gRPC-only port answering HTTP/2 frames...). */
function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  const detail = cause === undefined ? undefined : typeof cause.code === 'string' ? cause.code : typeof cause.message === 'string' ? cause.message : undefined;
  return detail === undefined ? error.message : `${error.message}: ${detail}`;
}
