// /health while an alarm is active, side by side with real etcd 3.4: a tiny --quota-backend-bytes
// and 8 KB puts raise NOSPACE on both; while it is active /health answers 503 with
// "health":"false" (Conclave adds etcd 3.5's reason), and after delete + compact + defrag +
// `alarm disarm` it answers 200 "true" again. The alarm metrics follow: conclave_server_alarms
// {alarm="NOSPACE"} is 1 exactly while the alarm is active, and etcd_server_quota_backend_bytes
// is the configured quota (as etcd's own gauge of that name is).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrometheusText, type MetricFamily } from '../../../bench/support/prometheus-text.js';
import { missingBinaries } from '../../support/binaries.js';
import { startEtcd, type EtcdCluster } from '../../support/etcd.js';
import { etcdctl } from '../../support/etcdctl.js';
import { cleanup, startSolo, type Solo } from '../support/solo.js';

const skip = missingBinaries('etcdctl', 'etcd');
const QUOTA = 200_000;
const value = 'x'.repeat(8192);

interface Health {
  readonly status: number;
  readonly body: { health: string; reason?: string };
}

async function health(endpoint: string): Promise<Health> {
  const response = await fetch(`http://${endpoint}/health`, { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: JSON.parse(await response.text()) as Health['body'] };
}

async function metrics(endpoint: string): Promise<Map<string, MetricFamily>> {
  const response = await fetch(`http://${endpoint}/metrics`, { signal: AbortSignal.timeout(10_000) });
  return parsePrometheusText(await response.text());
}

/** The value of one sample of a family, picked by its labels; fails when absent. */
function sample(families: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}): number {
  const found = families.get(name)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  expect(found, `${name}${JSON.stringify(labels)} is exported`).toBeDefined();
  return found!.value;
}

/** Puts 8 KB values until the quota refuses one; returns how many were accepted. */
async function fillUntilRefused(endpoint: string): Promise<number> {
  for (let i = 0; i < 60; i++) {
    try {
      await etcdctl([endpoint], ['put', `fill/${i}`, value]);
    } catch (error) {
      expect((error as Error).message).toContain('database space exceeded');
      return i;
    }
  }
  throw new Error(`${endpoint} accepted 60 puts of 8 KB under a ${QUOTA}-byte quota`);
}

/** etcd's way out of NOSPACE: delete, compact, defragment, disarm. */
async function freeSpaceAndDisarm(endpoint: string): Promise<void> {
  await etcdctl([endpoint], ['del', 'fill/', '--prefix']);
  const revision = /"revision":(\d+)/.exec(await etcdctl([endpoint], ['get', 'fill/', '-w', 'json']))![1]!;
  await etcdctl([endpoint], ['compact', revision, '--physical']);
  await etcdctl([endpoint], ['defrag']);
  await etcdctl([endpoint], ['alarm', 'disarm']);
}

describe.skipIf(skip !== undefined)('/health and alarm metrics under NOSPACE, beside etcd 3.4', () => {
  let solo: Solo;
  let etcd: EtcdCluster;
  beforeAll(async () => {
    [solo, etcd] = await Promise.all([
      startSolo(['--engine', 'lmdb', '--quota-backend-bytes', String(QUOTA)]),
      startEtcd({ args: ['--quota-backend-bytes', String(QUOTA)] }),
    ]);
  }, 90_000);
  afterAll(async () => {
    await cleanup();
    await etcd?.stop();
  });

  it('is false (503) while NOSPACE is active and true again after freeing space and disarming, as etcd answers', async () => {
    const etcdEndpoint = etcd.endpoints[0]!;
    const ours: Health[] = [];
    const theirs: Health[] = [];

    ours.push(await health(solo.endpoint));
    theirs.push(await health(etcdEndpoint));
    const idle = await metrics(solo.endpoint);
    expect(sample(idle, 'etcd_server_quota_backend_bytes')).toBe(QUOTA);
    expect(sample(idle, 'conclave_server_alarms', { alarm: 'NOSPACE' })).toBe(0);
    expect(sample(idle, 'conclave_server_alarms', { alarm: 'CORRUPT' })).toBe(0);
    expect(sample(await metrics(etcdEndpoint), 'etcd_server_quota_backend_bytes')).toBe(QUOTA);

    expect(await fillUntilRefused(solo.endpoint)).toBeGreaterThan(0);
    expect(await fillUntilRefused(etcdEndpoint)).toBeGreaterThan(0);
    ours.push(await health(solo.endpoint));
    theirs.push(await health(etcdEndpoint));
    expect(ours[1]!.body.reason).toBe('alarm activated: NOSPACE');
    const alarmed = await metrics(solo.endpoint);
    expect(sample(alarmed, 'conclave_server_alarms', { alarm: 'NOSPACE' })).toBe(1);
    expect(sample(alarmed, 'conclave_server_alarms', { alarm: 'CORRUPT' })).toBe(0);

    await freeSpaceAndDisarm(solo.endpoint);
    await freeSpaceAndDisarm(etcdEndpoint);
    ours.push(await health(solo.endpoint));
    theirs.push(await health(etcdEndpoint));
    expect(sample(await metrics(solo.endpoint), 'conclave_server_alarms', { alarm: 'NOSPACE' })).toBe(0);

    // The same answers as etcd 3.4 (whose JSON has no "reason" field; Conclave's is etcd 3.5's).
    expect(theirs.map((h) => [h.status, h.body.health])).toEqual([[200, 'true'], [503, 'false'], [200, 'true']]);
    expect(ours.map((h) => [h.status, h.body.health])).toEqual(theirs.map((h) => [h.status, h.body.health]));
    expect(ours[2]!.body.reason).toBe('');
  }, 120_000);
});
