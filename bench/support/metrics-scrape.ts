/**
 * Metrics checked during a bench run: before and after a row, every member's /metrics is
 * scraped, read by the strict parser (prometheus-text.ts), checked by `promtool check metrics`
 * when promtool is on PATH, and the deltas of the series an operator watches are printed, so a
 * bench run also shows that the exposition stays valid under load and that the series move.
 */
import { execFile, execFileSync } from 'node:child_process';
import { parsePrometheusText, sampleSum, type MetricFamily } from './prometheus-text.js';

/** The series whose movement a row reports: counters and histogram counts as deltas, gauges as before -> after. */
export const WATCHED_SERIES: ReadonlyArray<{ readonly sample: string; readonly kind: 'delta' | 'gauge' }> = [
  { sample: 'etcd_server_proposals_committed_total', kind: 'delta' },
  { sample: 'etcd_server_proposals_applied_total', kind: 'delta' },
  { sample: 'etcd_server_proposals_failed_total', kind: 'delta' },
  { sample: 'etcd_disk_wal_fsync_duration_seconds_count', kind: 'delta' },
  { sample: 'etcd_disk_backend_commit_duration_seconds_count', kind: 'delta' },
  { sample: 'grpc_server_started_total', kind: 'delta' },
  { sample: 'grpc_server_handled_total', kind: 'delta' },
  { sample: 'etcd_server_leader_changes_seen_total', kind: 'delta' },
  { sample: 'etcd_mvcc_db_total_size_in_bytes', kind: 'gauge' },
  { sample: 'etcd_debugging_mvcc_keys_total', kind: 'gauge' },
];

export interface Scrape {
  readonly endpoint: string;
  readonly text: string;
  readonly families: Map<string, MetricFamily>;
}

/** Fetches http://ENDPOINT/metrics and parses it strictly; throws PrometheusTextError on a bad exposition. */
export async function scrapeMetrics(endpoint: string, timeoutMs = 10_000): Promise<Scrape> {
  const response = await fetch(`http://${endpoint}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET http://${endpoint}/metrics answered ${response.status}: ${text.slice(0, 200)}`);
  return { endpoint, text, families: parsePrometheusText(text) };
}

export type PromtoolVerdict =
  | { readonly status: 'passed' }
  | { readonly status: 'skipped'; readonly reason: string }
  /** Parsed, with lint findings only (promtool's exit status 3), one per line. */
  | { readonly status: 'lint'; readonly findings: readonly string[] }
  | { readonly status: 'failed'; readonly output: string };

/**
 * Lint findings that come with etcd's own series names: etcd 3.4 declares these `_total` series
 * as gauges, and its /metrics draws the same findings. Conclave keeps etcd's names and types
 * (dashboards match on them), so these findings are expected; any other one is a problem.
 */
export const INHERITED_LINT_FINDINGS: ReadonlySet<string> = new Set([
  'etcd_debugging_mvcc_keys_total non-counter metrics should not have "_total" suffix',
  'etcd_server_proposals_applied_total non-counter metrics should not have "_total" suffix',
  'etcd_server_proposals_committed_total non-counter metrics should not have "_total" suffix',
]);

/** Whether a verdict is a problem: a parse failure, or a lint finding etcd's names do not explain. */
export function promtoolProblem(verdict: PromtoolVerdict): boolean {
  if (verdict.status === 'failed') return true;
  return verdict.status === 'lint' && verdict.findings.some((finding) => !INHERITED_LINT_FINDINGS.has(finding));
}

let promtoolPath: string | null | undefined;

/** promtool's path, or undefined when it is not on PATH (looked up once). */
export function findPromtool(): string | undefined {
  if (promtoolPath === undefined) {
    try {
      promtoolPath = execFileSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).trim() || null;
    } catch {
      promtoolPath = null;
    }
  }
  return promtoolPath ?? undefined;
}

/** promtool's exit status when the text parsed but lint findings were printed. */
const PROMTOOL_LINT_STATUS = 3;

/**
 * Runs `promtool check metrics` on an exposition (stdin). promtool exits 1 on a parse error and
 * 3 when it parsed but has lint findings (names, units, `_total` on non-counters).
 */
export function promtoolCheck(text: string): Promise<PromtoolVerdict> {
  const promtool = findPromtool();
  if (promtool === undefined) return Promise.resolve({ status: 'skipped', reason: 'promtool is not on PATH' });
  return new Promise((resolve) => {
    const child = execFile(promtool, ['check', 'metrics'], { timeout: 15_000 }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim();
      if (error === null) resolve({ status: 'passed' });
      else if (error.code === PROMTOOL_LINT_STATUS) resolve({ status: 'lint', findings: output.split('\n').map((line) => line.trim()).filter((line) => line !== '') });
      else resolve({ status: 'failed', output: output || String(error) });
    });
    child.stdin!.end(text);
  });
}

/** Scrapes every endpoint (in parallel) and runs promtool on each exposition. */
export async function scrapeAll(endpoints: readonly string[]): Promise<{ scrapes: Scrape[]; promtool: PromtoolVerdict[] }> {
  const scrapes = await Promise.all(endpoints.map((endpoint) => scrapeMetrics(endpoint)));
  const promtool = await Promise.all(scrapes.map((scrape) => promtoolCheck(scrape.text)));
  return { scrapes, promtool };
}

/** A watched series summed over the members: a missing series is reported, never taken as zero. */
function summed(scrapes: readonly Scrape[], sample: string): number | undefined {
  let total = 0;
  for (const scrape of scrapes) {
    const value = sampleSum(scrape.families, sample);
    if (value === undefined) return undefined;
    total += value;
  }
  return total;
}

export interface SeriesChange {
  readonly sample: string;
  readonly kind: 'delta' | 'gauge';
  readonly before: number | undefined;
  readonly after: number | undefined;
}

/** The watched series before and after, summed over the members. */
export function seriesChanges(before: readonly Scrape[], after: readonly Scrape[]): SeriesChange[] {
  return WATCHED_SERIES.map(({ sample, kind }) => ({ sample, kind, before: summed(before, sample), after: summed(after, sample) }));
}

/** One line per watched series, e.g. `etcd_server_proposals_committed_total +1234`. */
export function describeChanges(changes: readonly SeriesChange[]): string[] {
  return changes.map(({ sample, kind, before, after }) => {
    if (before === undefined || after === undefined) return `${sample} missing (${before === undefined ? 'before' : 'after'})`;
    if (kind === 'gauge') return `${sample} ${before} -> ${after}`;
    const delta = after - before;
    return `${sample} ${delta >= 0 ? '+' : ''}${delta}`;
  });
}

function describePromtool(verdicts: readonly PromtoolVerdict[]): string {
  const skipped = verdicts.find((v) => v.status === 'skipped');
  if (skipped !== undefined && skipped.status === 'skipped') return `promtool check metrics skipped: ${skipped.reason}`;
  const scrapes = `${verdicts.length} scrape${verdicts.length === 1 ? '' : 's'}`;
  const problems = verdicts.filter(promtoolProblem);
  if (problems.length > 0) {
    const details = new Set(problems.flatMap((v) => (v.status === 'failed' ? [v.output] : v.status === 'lint' ? v.findings.filter((f) => !INHERITED_LINT_FINDINGS.has(f)) : [])));
    return `promtool check metrics FAILED on ${problems.length} of ${scrapes}: ${[...details].join(' | ')}`;
  }
  const inherited = verdicts.some((v) => v.status === 'lint');
  return `promtool check metrics passed on ${scrapes}${inherited ? ' (only the lint findings etcd 3.4\'s own names draw)' : ''}`;
}

/**
 * Brackets one bench row: `start` scrapes before it, `finish` after it and returns the lines
 * to print. A scrape that fails (unreachable, not valid text) is reported in those lines and
 * counted in `problems`, so a row's numbers are never lost to a metrics problem.
 */
export class MetricsWatch {
  private constructor(
    private readonly endpoints: readonly string[],
    private readonly before: Scrape[] | undefined,
    private readonly lines: string[],
    private readonly engine: string | undefined,
  ) {}

  problems = 0;

  /** `engine` is the Conclave engine when known: the memory engine has no backend commits to count. */
  static async start(endpoints: readonly string[], engine?: 'memory' | 'lmdb'): Promise<MetricsWatch> {
    try {
      const { scrapes, promtool } = await scrapeAll(endpoints);
      const watch = new MetricsWatch(endpoints, scrapes, [`before: strict parse ok, ${describePromtool(promtool)}`], engine);
      watch.problems += promtool.filter(promtoolProblem).length;
      return watch;
    } catch (error) {
      const watch = new MetricsWatch(endpoints, undefined, [`before: scrape failed: ${String(error)}`], engine);
      watch.problems += 1;
      return watch;
    }
  }

  async finish(): Promise<string[]> {
    try {
      const { scrapes, promtool } = await scrapeAll(this.endpoints);
      this.problems += promtool.filter(promtoolProblem).length;
      this.lines.push(`after: strict parse ok, ${describePromtool(promtool)}`);
      if (this.before !== undefined) {
        const changes = seriesChanges(this.before, scrapes);
        this.problems += changes.filter((c) => c.before === undefined || c.after === undefined).length;
        this.lines.push(`summed over ${scrapes.length} member${scrapes.length === 1 ? '' : 's'}: ${describeChanges(changes).join(', ')}`);
        if (this.engine === 'memory') this.lines.push('(the memory engine keeps no backend file: it has no backend commits, so etcd_disk_backend_commit_duration_seconds stays at 0; lmdb commits every 100 ms)');
      }
    } catch (error) {
      this.problems += 1;
      this.lines.push(`after: scrape failed: ${String(error)}`);
    }
    return this.lines;
  }
}
