// The bench's /metrics checks against real processes: a Conclave member's exposition (lmdb
// engine) passes the strict parser and `promtool check metrics` with no finding beyond those
// real etcd 3.4's own exposition has (the series names are etcd's), and the watched series move
// under writes, etcd_disk_backend_commit_duration_seconds among them (the backend commits every
// 100 ms, as etcd's does, not only when a 10,000-write batch fills).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findPromtool, INHERITED_LINT_FINDINGS, MetricsWatch, promtoolCheck, promtoolProblem, scrapeMetrics, seriesChanges } from '../../bench/support/metrics-scrape.js';
import { missingBinaries } from '../support/binaries.js';
import { etcdctl } from '../support/etcdctl.js';
import { cleanup, startSolo, type Solo } from '../integration/support/solo.js';
import { startEtcd, type EtcdCluster } from '../support/etcd.js';

const skip = missingBinaries('etcdctl', 'etcd');

/** promtool's lint findings (one per line, "name finding"), without its exit status. */
function lintFindings(verdict: Awaited<ReturnType<typeof promtoolCheck>>): string[] {
  if (verdict.status === 'passed') return [];
  if (verdict.status === 'lint') return [...verdict.findings];
  throw new Error(`promtool did not lint the text: ${JSON.stringify(verdict)}`);
}

describe.skipIf(skip !== undefined)('/metrics of a real member, checked as the bench checks it', () => {
  let solo: Solo;
  let etcd: EtcdCluster;
  beforeAll(async () => {
    [solo, etcd] = await Promise.all([startSolo(['--engine', 'lmdb']), startEtcd()]);
  }, 90_000);
  afterAll(async () => {
    await cleanup();
    await etcd?.stop();
  });

  it('parses strictly, and the watched series move under writes (backend commits included)', async () => {
    const watch = await MetricsWatch.start([solo.endpoint], 'lmdb');
    const before = await scrapeMetrics(solo.endpoint);
    for (let i = 0; i < 20; i++) await etcdctl([solo.endpoint], ['put', `scrape/${i}`, 'v']);
    // One backend batch interval (100 ms) later every write is committed: poll the state.
    let after = await scrapeMetrics(solo.endpoint);
    for (let tries = 0; tries < 50; tries++) {
      const committed = seriesChanges([before], [after]).find((c) => c.sample === 'etcd_disk_backend_commit_duration_seconds_count')!;
      if (committed.after! > committed.before!) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
      after = await scrapeMetrics(solo.endpoint);
    }
    const changes = new Map(seriesChanges([before], [after]).map((c) => [c.sample, c]));
    const delta = (sample: string): number => changes.get(sample)!.after! - changes.get(sample)!.before!;
    expect(delta('etcd_server_proposals_committed_total')).toBeGreaterThanOrEqual(20);
    expect(delta('etcd_server_proposals_applied_total')).toBeGreaterThanOrEqual(20);
    expect(delta('etcd_disk_wal_fsync_duration_seconds_count')).toBeGreaterThan(0);
    expect(delta('etcd_disk_backend_commit_duration_seconds_count')).toBeGreaterThan(0);
    expect(delta('grpc_server_handled_total')).toBeGreaterThanOrEqual(20);
    expect(changes.get('etcd_debugging_mvcc_keys_total')!.after).toBeGreaterThanOrEqual(20);
    const lines = await watch.finish();
    expect(lines.join('\n')).toMatch(/etcd_server_proposals_committed_total \+\d+/);
    expect(lines.join('\n')).not.toMatch(/missing|scrape failed|FAILED/);
    expect(watch.problems).toBe(0);
  }, 60_000);

  it.skipIf(findPromtool() === undefined)('passes promtool check metrics but for the lint findings etcd 3.4 has itself', async () => {
    const ours = lintFindings(await promtoolCheck((await scrapeMetrics(solo.endpoint)).text));
    const theirs = new Set(lintFindings(await promtoolCheck((await scrapeMetrics(etcd.endpoints[0]!)).text)));
    expect(ours.filter((line) => !theirs.has(line))).toEqual([]);
    // The bench's list of expected findings is exactly what etcd's names draw in our exposition.
    expect(new Set(ours)).toEqual(INHERITED_LINT_FINDINGS);
    for (const finding of INHERITED_LINT_FINDINGS) expect(theirs.has(finding)).toBe(true);
    expect(promtoolProblem(await promtoolCheck('up{a="x} 1\n'))).toBe(true);
    expect(promtoolProblem(await promtoolCheck('# TYPE up gauge\nup 1\n'))).toBe(true); // lint: no help text
    expect(promtoolProblem(await promtoolCheck('# HELP up Up.\n# TYPE up gauge\nup 1\n'))).toBe(false);
  }, 60_000);

  it('reads real etcd 3.4\'s exposition with the same strict parser', async () => {
    const families = (await scrapeMetrics(etcd.endpoints[0]!)).families;
    expect(families.get('etcd_server_has_leader')?.type).toBe('gauge');
    expect(families.get('etcd_disk_wal_fsync_duration_seconds')?.type).toBe('histogram');
    expect(families.size).toBeGreaterThan(50);
  }, 30_000);
});
