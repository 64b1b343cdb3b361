/**
 * Just enough of the Prometheus text exposition format (version 0.0.4) to read the counters
 * and histogram sums a member serves on /metrics: `name{labels} value [timestamp]` lines,
 * comments skipped. Hand-written: the npm parsers are unmaintained or pull in a Prometheus
 * client, and the dashboard needs sums of a few samples, not a data model. Lenient on purpose:
 * a line it cannot read is skipped, so one odd series never blanks a member's charts. The
 * strict checker the bench and the ops tests use (bench/support/prometheus-text.ts) refuses
 * any malformed line instead: it validates an exposition, this reads one.
 */
export type Samples = ReadonlyMap<string, number>;

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/;

const grpcServiceLabel = /grpc_service="([^"]*)"/;

/**
 * Sums every sample of each metric name over its label sets (NaN and infinities skipped). A
 * sample with a `grpc_service` label also counts under `name|service` (the KV calls a member
 * handled, for members that export no etcd_mvcc_* counters).
 */
export function sumPrometheusSamples(text: string): Samples {
  const sums = new Map<string, number>();
  const add = (key: string, value: number): void => {
    sums.set(key, (sums.get(key) ?? 0) + value);
  };
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = sampleLine.exec(line);
    if (match === null) continue;
    const value = Number(match[3]);
    if (!Number.isFinite(value)) continue;
    add(match[1]!, value);
    const service = match[2] === undefined ? undefined : grpcServiceLabel.exec(match[2])?.[1];
    if (service !== undefined) add(`${match[1]!}|${service}`, value);
  }
  return sums;
}
