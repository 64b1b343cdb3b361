// Rows "curl /metrics or /health on the client URL" and must-show 2: the client URL answers
// HTTP/1.1 beside gRPC (etcdctl keeps working on the same port); /metrics is valid Prometheus
// text with etcd's series, which move under load; /health is etcd's JSON and turns false when
// quorum is lost and true again once healed; /livez, /readyz and /version answer. The same
// endpoints on a --listen-metrics-urls URL, over plain HTTP/1.1 (and only those: no gRPC there).
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrometheusText } from '../../../bench/support/prometheus-text.js';
import { missingBinaries } from '../../support/binaries.js';
import { etcdctl } from '../../support/etcdctl.js';
import { waitFor } from '../../support/wait.js';
import { freePort } from '../../support/ports.js';
import { ConclaveCluster } from '../support/cluster.js';
import { cleanup, startSolo, type Solo } from '../support/solo.js';

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

/** The strict Prometheus text reader (throws PrometheusTextError): the sum of each sample name's values, labels folded. */
function parseExposition(text: string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const family of parsePrometheusText(text).values()) {
    for (const sample of family.samples) sums.set(sample.name, (sums.get(sample.name) ?? 0) + sample.value);
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

/** One plain HTTP/1.1 GET (node:http, no HTTP/2 negotiation), answering the protocol version too. */
function http11(url: string): Promise<{ status: number; httpVersion: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, httpVersion: res.httpVersion, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

describe.skipIf(skip !== undefined)('HTTP on --listen-metrics-urls (1 member)', () => {
  let solo: Solo;
  let metricsUrl: string;
  beforeAll(async () => {
    metricsUrl = `http://127.0.0.1:${await freePort()}`;
    solo = await startSolo(['--listen-metrics-urls', metricsUrl]);
  }, 60_000);
  afterAll(cleanup);

  it('serves /metrics, /health, /livez, /readyz and /version over HTTP/1.1, and nothing else', async () => {
    await etcdctl([solo.endpoint], ['put', 'm', 'v']);
    const metrics = await http11(`${metricsUrl}/metrics`);
    expect(metrics).toMatchObject({ status: 200, httpVersion: '1.1' });
    const sums = parseExposition(metrics.body);
    // A single member has no peers, so no peer round-trip series (labelled by peer) exists.
    for (const name of REQUIRED.filter((n) => !n.startsWith('etcd_network_peer_'))) expect(sums.has(name), `missing ${name}`).toBe(true);
    expect(sums.get('etcd_server_has_leader')).toBe(1);
    expect(sums.get('etcd_server_proposals_applied_total')!).toBeGreaterThan(0);
    expect(await http11(`${metricsUrl}/health`)).toEqual({ status: 200, httpVersion: '1.1', body: '{"health":"true","reason":""}' });
    expect(await http11(`${metricsUrl}/livez`)).toEqual({ status: 200, httpVersion: '1.1', body: 'ok' });
    expect(await http11(`${metricsUrl}/readyz`)).toEqual({ status: 200, httpVersion: '1.1', body: 'ok' });
    const version = await http11(`${metricsUrl}/version`);
    expect(version.status).toBe(200);
    expect(JSON.parse(version.body)).toMatchObject({ etcdserver: expect.stringMatching(/^\d+\.\d+\.\d+$/), etcdcluster: expect.stringMatching(/^\d+\.\d+\.0$/) });
    expect((await http11(`${metricsUrl}/nothing-here`)).status).toBe(404);
    // The metrics URL is HTTP only: etcdctl (gRPC over h2c) gets no KV service there.
    await expect(etcdctl([metricsUrl.replace('http://', '')], ['get', 'm', '--print-value-only'])).rejects.toThrow();
    expect(await etcdctl([solo.endpoint], ['get', 'm', '--print-value-only'])).toBe('v\n');
  }, 60_000);
});
