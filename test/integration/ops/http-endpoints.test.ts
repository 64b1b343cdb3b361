// Rows "curl /metrics or /health on the client URL" and must-show 2: the client URL answers
// HTTP/1.1 beside gRPC (etcdctl keeps working on the same port); /metrics is valid Prometheus
// text with etcd's series, which move under load; /health is etcd's JSON and turns false when
// quorum is lost and true again once healed; /livez, /readyz and /version answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingBinaries } from '../../support/binaries.js';
import { etcdctl } from '../../support/etcdctl.js';
import { waitFor } from '../../support/wait.js';
import { ConclaveCluster } from '../support/cluster.js';

const skip = missingBinaries('etcdctl');

/** Every etcd series the issue names (the histograms by their _count sample). */
const REQUIRED = [
  'etcd_server_has_leader', 'etcd_server_is_leader', 'etcd_server_leader_changes_seen_total', 'etcd_server_proposals_committed_total',
  'etcd_server_proposals_applied_total', 'etcd_server_proposals_pending', 'etcd_server_proposals_failed_total',
  'etcd_disk_wal_fsync_duration_seconds_count', 'etcd_disk_backend_commit_duration_seconds_count', 'etcd_mvcc_db_total_size_in_bytes',
  'etcd_debugging_mvcc_keys_total', 'grpc_server_started_total', 'grpc_server_handled_total',
  'conclave_server_ready_batch_entries_count', 'conclave_server_apply_lag_entries', 'conclave_mvcc_watchers',
  'etcd_network_peer_round_trip_time_seconds_count',
];

/**
 * A strict reading of the Prometheus text format (0.0.4): every sample belongs to a family
 * declared by # HELP and # TYPE, names and labels are well formed, values are numbers. Returns
 * the sum of the samples of each name (labels folded).
 */
function parseExposition(text: string): Map<string, number> {
  const families = new Map<string, string>();
  const sums = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta !== null) {
      if (meta[1] === 'TYPE') {
        expect(['counter', 'gauge', 'histogram', 'summary', 'untyped']).toContain(meta[3]);
        families.set(meta[2]!, meta[3]!);
      }
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    expect(sample, `not a valid sample line: ${line}`).not.toBeNull();
    const name = sample![1]!;
    const family = name.replace(/_(bucket|sum|count)$/, '');
    expect(families.has(name) || families.get(family) === 'histogram', `sample ${name} has no # TYPE`).toBe(true);
    sums.set(name, (sums.get(name) ?? 0) + Number(sample![3]));
  }
  return sums;
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: await response.text() };
}

describe.skipIf(skip !== undefined)('HTTP on the client URLs (3 members, lmdb)', () => {
  let cluster: ConclaveCluster;
  beforeAll(async () => {
    cluster = await ConclaveCluster.start({ members: 3, engine: 'lmdb' });
  }, 120_000);
  afterAll(async () => cluster?.stop());

  it('serves Prometheus text whose etcd series move under load, beside gRPC on the same port', async () => {
    const url = `http://${cluster.nodes[0]!.endpoint}`;
    const before = parseExposition((await get(`${url}/metrics`)).body);
    for (const name of REQUIRED) expect(before.has(name), `missing ${name}`).toBe(true);
    expect(before.get('etcd_server_has_leader')).toBe(1);
    const client = cluster.client([cluster.nodes[0]!]);
    await Promise.all(Array.from({ length: 200 }, (_, i) => client.put(`load/${i}`).value(`v${i}`)));
    const watcher = await client.watch().prefix('load/').create();
    const after = parseExposition((await get(`${url}/metrics`)).body);
    await watcher.cancel();
    expect(after.get('etcd_server_proposals_committed_total')!).toBeGreaterThanOrEqual(before.get('etcd_server_proposals_committed_total')! + 200);
    expect(after.get('etcd_server_proposals_applied_total')!).toBeGreaterThanOrEqual(before.get('etcd_server_proposals_applied_total')! + 200);
    expect(after.get('etcd_disk_wal_fsync_duration_seconds_count')!).toBeGreaterThan(before.get('etcd_disk_wal_fsync_duration_seconds_count')!);
    // Every member's raft batches to its two peers are acknowledged (one series per peer).
    expect(after.get('etcd_network_peer_round_trip_time_seconds_count')!).toBeGreaterThan(before.get('etcd_network_peer_round_trip_time_seconds_count')!);
    expect(after.get('etcd_debugging_mvcc_keys_total')!).toBeGreaterThanOrEqual(200);
    expect(after.get('grpc_server_handled_total')!).toBeGreaterThanOrEqual(before.get('grpc_server_handled_total')! + 200);
    expect(after.get('conclave_mvcc_watchers')!).toBeGreaterThanOrEqual(1);
    expect(after.get('etcd_mvcc_db_total_size_in_bytes')!).toBeGreaterThan(before.get('etcd_mvcc_db_total_size_in_bytes')!);
    expect(await etcdctl([cluster.nodes[0]!.endpoint], ['get', 'load/7', '--print-value-only'])).toBe('v7\n');
    expect(JSON.parse((await get(`${url}/version`)).body)).toMatchObject({ etcdserver: expect.stringMatching(/^\d+\.\d+\.\d+$/) });
    expect(await get(`${url}/livez`)).toEqual({ status: 200, body: 'ok' });
    expect(await get(`${url}/readyz`)).toEqual({ status: 200, body: 'ok' });
    expect((await get(`${url}/nothing-here`)).status).toBe(404);
  }, 120_000);

  it('/health is true, turns false when quorum is lost, and true again once healed', async () => {
    const [first, second, third] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
    const health = `http://${first!.endpoint}/health`;
    expect(await get(health)).toEqual({ status: 200, body: '{"health":"true","reason":""}' });
    await second!.kill();
    await third!.kill();
    await waitFor(async () => {
      const answer = await get(health);
      expect(answer.status).toBe(503);
      expect(JSON.parse(answer.body)).toMatchObject({ health: 'false' });
    }, { timeout: 30_000, interval: 200 });
    expect((await get(`http://${first!.endpoint}/readyz`)).status).toBe(503);
    await cluster.restart(second!);
    await cluster.restart(third!);
    await waitFor(async () => expect(await get(health)).toEqual({ status: 200, body: '{"health":"true","reason":""}' }), { timeout: 30_000, interval: 200 });
  }, 180_000);
});
