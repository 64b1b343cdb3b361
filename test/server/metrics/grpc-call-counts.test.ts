// grpc_server_started_total / grpc_server_handled_total are counted as plain numbers per call
// and handed to prom-client at scrape time: every scrape must show the running totals (never
// the calls since the previous scrape, never a count added twice), with etcd's labels.
import { describe, expect, it } from 'vitest';
import { parsePrometheusText } from '../../../bench/support/prometheus-text.js';
import { MemberMetrics } from '../../../src/server/metrics/member-metrics.js';

async function sampleValues(metrics: MemberMetrics, name: string): Promise<Record<string, number>> {
  const family = parsePrometheusText(await metrics.text()).get(name);
  const out: Record<string, number> = {};
  for (const sample of family?.samples ?? []) out[Object.values(sample.labels).join(' ')] = sample.value;
  return out;
}

describe('gRPC call counters', () => {
  it('shows running totals by method and code across scrapes', async () => {
    const metrics = new MemberMetrics();
    const range = metrics.grpcMethod('etcdserverpb.KV', 'Range', 'unary');
    const watch = metrics.grpcMethod('etcdserverpb.Watch', 'Watch', 'bidi_stream');
    range.started();
    range.started();
    range.handled(0);
    range.handled(14);
    expect(await sampleValues(metrics, 'grpc_server_started_total')).toEqual({ 'unary etcdserverpb.KV Range': 2 });
    expect(await sampleValues(metrics, 'grpc_server_handled_total')).toEqual({ 'unary etcdserverpb.KV Range OK': 1, 'unary etcdserverpb.KV Range Unavailable': 1 });

    // A second scrape with nothing new shows the same totals.
    expect(await sampleValues(metrics, 'grpc_server_started_total')).toEqual({ 'unary etcdserverpb.KV Range': 2 });

    range.started();
    range.handled(0);
    watch.started();
    watch.handled(1);
    range.handled(99); // a code outside gRPC's list keeps its number as the label
    expect(await sampleValues(metrics, 'grpc_server_started_total')).toEqual({ 'unary etcdserverpb.KV Range': 3, 'bidi_stream etcdserverpb.Watch Watch': 1 });
    expect(await sampleValues(metrics, 'grpc_server_handled_total')).toEqual({
      'unary etcdserverpb.KV Range OK': 2,
      'unary etcdserverpb.KV Range Unavailable': 1,
      'unary etcdserverpb.KV Range 99': 1,
      'bidi_stream etcdserverpb.Watch Watch Canceled': 1,
    });
  });
});
