// The strict Prometheus text reader of the bench's /metrics checks: well-formed expositions
// (escapes, histograms, summaries, timestamps) read back exactly, each kind of malformed input
// is refused with a PrometheusTextError naming its line, and the deltas the bench prints are
// computed from summed samples.
import { describe, expect, it } from 'vitest';
import { describeChanges, seriesChanges, type Scrape } from '../../bench/support/metrics-scrape.js';
import { parsePrometheusText, PrometheusTextError, sampleSum } from '../../bench/support/prometheus-text.js';

const GOOD = [
  '# A plain comment is ignored.',
  '# HELP etcd_server_has_leader Whether or not a leader exists. 1 is existence, 0 is not.',
  '# TYPE etcd_server_has_leader gauge',
  'etcd_server_has_leader 1',
  '',
  '# HELP grpc_server_handled_total Total RPCs completed, with a backslash \\\\ and a\\nsecond line.',
  '# TYPE grpc_server_handled_total counter',
  'grpc_server_handled_total{grpc_method="Put",grpc_code="OK"} 12',
  'grpc_server_handled_total{grpc_method="Range",grpc_code="OK",} 3 1700000000000',
  'grpc_server_handled_total{grpc_method="quote\\"slash\\\\newline\\n",grpc_code="OK"} 0',
  '# HELP etcd_disk_wal_fsync_duration_seconds The latency distributions of fsync called by WAL.',
  '# TYPE etcd_disk_wal_fsync_duration_seconds histogram',
  'etcd_disk_wal_fsync_duration_seconds_bucket{le="0.001"} 2',
  'etcd_disk_wal_fsync_duration_seconds_bucket{le="0.01"} 5',
  'etcd_disk_wal_fsync_duration_seconds_bucket{le="+Inf"} 7',
  'etcd_disk_wal_fsync_duration_seconds_sum 0.25',
  'etcd_disk_wal_fsync_duration_seconds_count 7',
  '# TYPE rpc_latency_seconds summary',
  'rpc_latency_seconds{quantile="0.5"} 0.002',
  'rpc_latency_seconds{quantile="0.99"} NaN',
  'rpc_latency_seconds_sum 1.5e-1',
  'rpc_latency_seconds_count 40',
  'untyped_thing -Inf',
  '',
].join('\n');

/** The error a malformed text raises (fails the test if it parses). */
function refusal(text: string): PrometheusTextError {
  try {
    parsePrometheusText(text);
  } catch (error) {
    expect(error).toBeInstanceOf(PrometheusTextError);
    return error as PrometheusTextError;
  }
  throw new Error(`parsed without error:\n${text}`);
}

const histogram = (lines: string[]): string => ['# TYPE h histogram', ...lines, ''].join('\n');

describe('parsePrometheusText', () => {
  it('reads families, types, help with escapes, labels with escapes, timestamps and special values', () => {
    const families = parsePrometheusText(GOOD);
    expect([...families.keys()]).toEqual(['etcd_server_has_leader', 'grpc_server_handled_total', 'etcd_disk_wal_fsync_duration_seconds', 'rpc_latency_seconds', 'untyped_thing']);
    const handled = families.get('grpc_server_handled_total')!;
    expect(handled.type).toBe('counter');
    expect(handled.help).toBe('Total RPCs completed, with a backslash \\ and a\nsecond line.');
    expect(handled.samples.map((s) => s.labels)).toEqual([
      { grpc_method: 'Put', grpc_code: 'OK' },
      { grpc_method: 'Range', grpc_code: 'OK' },
      { grpc_method: 'quote"slash\\newline\n', grpc_code: 'OK' },
    ]);
    expect(handled.samples[1]!.timestampMs).toBe(1_700_000_000_000);
    expect(handled.samples[1]!.line).toBe(9);
    const fsync = families.get('etcd_disk_wal_fsync_duration_seconds')!;
    expect(fsync.type).toBe('histogram');
    expect(fsync.samples.map((s) => s.name)).toEqual([
      'etcd_disk_wal_fsync_duration_seconds_bucket', 'etcd_disk_wal_fsync_duration_seconds_bucket', 'etcd_disk_wal_fsync_duration_seconds_bucket',
      'etcd_disk_wal_fsync_duration_seconds_sum', 'etcd_disk_wal_fsync_duration_seconds_count',
    ]);
    expect(Number.isNaN(families.get('rpc_latency_seconds')!.samples[1]!.value)).toBe(true);
    expect(families.get('rpc_latency_seconds')!.samples[2]!.value).toBe(0.15);
    expect(families.get('untyped_thing')!).toMatchObject({ type: 'untyped', help: undefined });
    expect(families.get('untyped_thing')!.samples[0]!.value).toBe(Number.NEGATIVE_INFINITY);
    expect(sampleSum(families, 'grpc_server_handled_total')).toBe(15);
    expect(sampleSum(families, 'etcd_disk_wal_fsync_duration_seconds_count')).toBe(7);
    expect(sampleSum(families, 'nothing')).toBeUndefined();
  });

  it('accepts an empty exposition and histograms with several label sets', () => {
    expect(parsePrometheusText('').size).toBe(0);
    const families = parsePrometheusText(histogram([
      'h_bucket{op="a",le="1"} 1', 'h_bucket{op="a",le="+Inf"} 2', 'h_sum{op="a"} 3', 'h_count{op="a"} 2',
      'h_bucket{op="b",le="1"} 0', 'h_bucket{op="b",le="+Inf"} 0', 'h_sum{op="b"} 0', 'h_count{op="b"} 0',
    ]));
    expect(sampleSum(families, 'h_count')).toBe(2);
  });

  it.each([
    ['a sample line without a value', 'up\n', 1, /no value|blank before the value/],
    ['a bad value', 'up one\n', 1, /invalid number "one"/],
    ['text after the timestamp', 'up 1 2 3\n', 1, /unexpected text/],
    ['a bad timestamp', 'up 1 2.5\n', 1, /invalid timestamp/],
    ['a bad metric name', '0up 1\n', 1, /metric name/],
    ['a bad label name', 'up{0a="x"} 1\n', 1, /invalid label name/],
    ['a reserved label name', 'up{__name__="x"} 1\n', 1, /reserved/],
    ['a duplicate label', 'up{a="x",a="y"} 1\n', 1, /appears twice/],
    ['an unquoted label value', 'up{a=x} 1\n', 1, /quoted value/],
    ['an unterminated label value', 'up{a="x} 1\n', 1, /unterminated/],
    ['a bad escape in a label value', 'up{a="\\t"} 1\n', 1, /invalid escape/],
    ['a missing comma between labels', 'up{a="x" b="y"} 1\n', 1, /expected , or \}/],
    ['a bad escape in HELP', '# HELP up a \\t b\nup 1\n', 1, /invalid escape/],
    ['an unknown TYPE', '# TYPE up meter\nup 1\n', 1, /unknown metric type/],
    ['a second TYPE', '# TYPE up gauge\n# TYPE up gauge\nup 1\n', 2, /second TYPE/],
    ['a second HELP', '# HELP up x\n# HELP up y\nup 1\n', 2, /second HELP/],
    ['TYPE after samples', 'up 1\n# TYPE up gauge\n', 2, /after its samples/],
    ['a family split in two', 'a 1\nb 1\na{x="1"} 2\n', 3, /not contiguous/],
    ['a duplicate sample', 'a{x="1"} 1\na{x="1"} 2\n', 2, /duplicate sample/],
    ['a negative counter', '# TYPE c_total counter\nc_total -1\n', 2, /negative/],
    ['no final line feed', 'up 1', 1, /line feed/],
    ['a bucket without le', histogram(['h_bucket 1', 'h_sum 1', 'h_count 1']), 2, /no le label/],
    ['a bare histogram sample', histogram(['h 1']), 2, /without _bucket/],
    ['buckets out of le order', histogram(['h_bucket{le="2"} 1', 'h_bucket{le="1"} 1', 'h_bucket{le="+Inf"} 1', 'h_sum 1', 'h_count 1']), 3, /ascending le order/],
    ['buckets that are not cumulative', histogram(['h_bucket{le="1"} 3', 'h_bucket{le="2"} 2', 'h_bucket{le="+Inf"} 3', 'h_sum 1', 'h_count 3']), 3, /not cumulative/],
    ['no +Inf bucket', histogram(['h_bucket{le="1"} 1', 'h_sum 1', 'h_count 1']), 2, /le="\+Inf"/],
    ['+Inf differing from _count', histogram(['h_bucket{le="1"} 1', 'h_bucket{le="+Inf"} 2', 'h_sum 1', 'h_count 3']), 5, /differs from _count \(3\)/],
    ['a histogram without _count', histogram(['h_bucket{le="+Inf"} 1', 'h_sum 1']), 2, /no _count/],
    ['a fractional bucket count', histogram(['h_bucket{le="+Inf"} 1.5', 'h_sum 1', 'h_count 1.5']), 2, /non-negative integer/],
    ['a summary quantile out of range', '# TYPE s summary\ns{quantile="1.5"} 1\ns_sum 1\ns_count 1\n', 2, /outside \[0, 1\]/],
    ['a summary without _sum', '# TYPE s summary\ns{quantile="0.5"} 1\ns_count 1\n', 2, /no _sum/],
  ])('refuses %s', (_what, text, line, reason) => {
    const error = refusal(text);
    expect(error.code).toBe('ERR_PROMETHEUS_TEXT');
    expect(error.line).toBe(line);
    expect(error.reason).toMatch(reason);
    expect(error.message).toMatch(line > 0 ? new RegExp(`^line ${line}: `) : /./);
  });
});

describe('series changes', () => {
  const scrape = (text: string): Scrape => ({ endpoint: 'x', text, families: parsePrometheusText(text) });
  it('sums the watched series over members and reports a missing one rather than zero', () => {
    const counter = (n: number): string => `# TYPE etcd_server_proposals_committed_total gauge\netcd_server_proposals_committed_total ${n}\n# TYPE etcd_mvcc_db_total_size_in_bytes gauge\netcd_mvcc_db_total_size_in_bytes ${n * 10}\n`;
    const lines = describeChanges(seriesChanges([scrape(counter(1)), scrape(counter(2))], [scrape(counter(11)), scrape(counter(12))]));
    expect(lines).toContain('etcd_server_proposals_committed_total +20');
    expect(lines).toContain('etcd_mvcc_db_total_size_in_bytes 30 -> 230');
    expect(lines).toContain('etcd_server_proposals_applied_total missing (before)');
  });
});
