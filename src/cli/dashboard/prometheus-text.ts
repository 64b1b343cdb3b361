/**
 * Just enough of the Prometheus text exposition format (version 0.0.4) to read the counters
 * and histogram sums a member serves on /metrics: `name{labels} value [timestamp]` lines,
 * comments skipped. Hand-written: the npm parsers are unmaintained or pull in a Prometheus
 * client, and the dashboard needs sums of a few samples, not a data model.
 */
export type Samples = ReadonlyMap<string, number>;

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/;

/** Sums every sample of each metric name over its label sets (NaN and infinities skipped). */
export function parsePrometheusText(text: string): Samples {
  const sums = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = sampleLine.exec(line);
    if (match === null) continue;
    const value = Number(match[3]);
    if (!Number.isFinite(value)) continue;
    sums.set(match[1]!, (sums.get(match[1]!) ?? 0) + value);
  }
  return sums;
}
