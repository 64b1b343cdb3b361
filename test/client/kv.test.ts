// Method: a real single-member etcd 3.4 started for this file; each test uses its own key
// prefix. Checks the wire round trip (Range/Put/Delete/Txn through our generated codecs),
// the awaitable builders, namespaces, typed errors mapped from etcd's messages, and the
// per-call AbortSignal and timeout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, compare, EtcdError } from '../../src/client/index.js';
import { missingBinaries } from '../support/binaries.js';
import { startEtcd } from '../support/etcd.js';
import type { EtcdCluster } from '../support/etcd.js';

const skip = missingBinaries('etcd');

describe.skipIf(skip !== undefined)('client KV against etcd', () => {
  let etcd: EtcdCluster;
  let client: Client;

  beforeAll(async () => {
    etcd = await startEtcd();
    client = new Client({ endpoints: etcd.endpoints });
  });

  afterAll(async () => {
    await client?.close();
    await etcd?.stop();
  });

  it('puts and reads back keys with revisions as bigint', async () => {
    const put = await client.put('kv1/a', 'alpha');
    expect(typeof put.header.revision).toBe('bigint');
    const got = await client.get('kv1/a');
    expect(got.kvs).toHaveLength(1);
    expect(got.kvs[0]!.value).toBe('alpha');
    expect(got.kvs[0]!.createRevision).toBe(put.header.revision);
    expect(got.kvs[0]!.version).toBe(1n);
    await client.put('kv1/b', 'beta');
    await client.put('kv1/c', 'gamma');
    const all = await client.get('kv1/').prefix();
    expect(all.kvs.map((kv) => kv.key)).toEqual(['kv1/a', 'kv1/b', 'kv1/c']);
    expect(all.count).toBe(3n);
    const limited = await client.get('kv1/').prefix().limit(2).sort('key', 'descend');
    expect(limited.kvs.map((kv) => kv.key)).toEqual(['kv1/c', 'kv1/b']);
    expect(limited.more).toBe(true);
    expect(await client.get('kv1/b').string()).toBe('beta');
    expect(await client.get('kv1/missing').string()).toBeUndefined();
  });

  it('deletes with prevKv and reports the count', async () => {
    await client.put('kv2/a', '1');
    await client.put('kv2/b', '2');
    const deleted = await client.delete('kv2/').prefix().prevKv();
    expect(deleted.deleted).toBe(2n);
    expect(deleted.prevKvs.map((kv) => kv.value).sort()).toEqual(['1', '2']);
  });

  it('runs txns with compares and both branches', async () => {
    const first = await client.txn().if(compare.absent('kv3/k')).do(client.put('kv3/k', 'v1')).else(client.get('kv3/k'));
    expect(first.succeeded).toBe(true);
    const second = await client.txn().if(compare.absent('kv3/k')).do(client.put('kv3/k', 'v2')).else(client.get('kv3/k'));
    expect(second.succeeded).toBe(false);
    const range = second.results[0]!;
    expect(range.type).toBe('range');
    if (range.type === 'range') expect(range.result.kvs[0]!.value).toBe('v1');
    const guarded = await client.txn().if(compare.value('kv3/k', '==', 'v1'), compare.version('kv3/k', '==', 1)).do(client.put('kv3/k', 'v3'));
    expect(guarded.succeeded).toBe(true);
    expect(await client.get('kv3/k').string()).toBe('v3');
  });

  it('maps etcd errors to stable codes', async () => {
    const duplicate = client.txn().do(client.put('kv4/k', '1'), client.put('kv4/k', '2'));
    await expect(duplicate).rejects.toMatchObject({ code: 'ERR_ETCD_DUPLICATE_KEY', grpcCode: 3 });
    await expect(client.put('kv4/x', 'y').lease(0x1234abcdn)).rejects.toMatchObject({ code: 'ERR_ETCD_LEASE_NOT_FOUND', retryable: false });
    const current = (await client.get('kv4/x')).header.revision;
    const error = await client.get('kv4/x').revision(current + 1000n).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(EtcdError);
    expect((error as EtcdError).code).toBe('ERR_ETCD_FUTURE_REV');
    expect((error as EtcdError).details).toBe('etcdserver: mvcc: required revision is a future revision');
    await expect(client.put('kv4/y', 'v').ignoreValue()).rejects.toMatchObject({ code: 'ERR_ETCD_VALUE_PROVIDED' });
    expect(() => client.get('')).not.toThrow();
    await expect(client.get('')).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
  });

  it('applies a namespace to keys, ranges, compares and results', async () => {
    const scoped = new Client({ endpoints: etcd.endpoints, namespace: 'tenant-a/' });
    try {
      await scoped.put('k1', 'v1');
      await scoped.put('k2', 'v2');
      await client.put('tenant-b/k1', 'other');
      expect(await client.get('tenant-a/k1').string()).toBe('v1');
      const all = await scoped.get('\0').fromKey();
      expect(all.kvs.map((kv) => kv.key)).toEqual(['k1', 'k2']);
      const txn = await scoped.txn().if(compare.value('k1', '==', 'v1')).do(scoped.put('k3', 'v3'));
      expect(txn.succeeded).toBe(true);
      expect(await client.get('tenant-a/k3').string()).toBe('v3');
    } finally {
      await scoped.close();
    }
  });

  it('rejects with the signal reason when aborted and with ERR_CALL_TIMEOUT on timeout', async () => {
    const controller = new AbortController();
    const reason = new Error('stop now');
    controller.abort(reason);
    await expect(client.get('kv5/a').signal(controller.signal)).rejects.toBe(reason);
    // A client pointed at a port nobody listens on: the call can only end by its timeout.
    const dead = new Client({ endpoints: ['127.0.0.1:1'], retry: { retries: 0 } });
    try {
      await expect(dead.put('x', 'y').timeout(300)).rejects.toMatchObject({ code: expect.stringMatching(/^ERR_(CALL_TIMEOUT|UNAVAILABLE)$/) });
    } finally {
      dead.destroy();
    }
  });

  it('fails over to the next endpoint when the first is down', async () => {
    const failover = new Client({ endpoints: ['127.0.0.1:1', ...etcd.endpoints], retry: { retries: 3, minDelayMs: 10, maxDelayMs: 50 } });
    try {
      await client.put('kv6/a', 'x');
      expect(await failover.get('kv6/a').string()).toBe('x');
    } finally {
      await failover.close();
    }
  });

  it('never retries a write: a put sent to a dead endpoint fails, the next call fails over', async () => {
    const client2 = new Client({ endpoints: ['127.0.0.1:1', ...etcd.endpoints], retry: { retries: 5, minDelayMs: 10, maxDelayMs: 20 } });
    try {
      const error = await client2.put('kv8/a', 'x').then(() => undefined, (e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_UNAVAILABLE', retryable: false });
      expect(await client.get('kv8/a').string()).toBeUndefined();
      await client2.put('kv8/a', 'y');
      expect(await client.get('kv8/a').string()).toBe('y');
    } finally {
      await client2.close();
    }
  });

  it('reports the health of each endpoint on its own', async () => {
    const mixed = new Client({ endpoints: ['127.0.0.1:1', ...etcd.endpoints], callTimeoutMs: 2_000 });
    try {
      const [dead, live] = await mixed.health();
      expect(dead).toMatchObject({ endpoint: '127.0.0.1:1', healthy: false, leader: 0n });
      expect(dead!.error).toEqual(expect.any(String));
      expect(live).toMatchObject({ endpoint: etcd.endpoints[0], healthy: true });
      expect(live!.leader).not.toBe(0n);
    } finally {
      mixed.destroy();
    }
  });

  it('rejects calls after close', async () => {
    const closing = new Client({ endpoints: etcd.endpoints });
    await closing.put('kv7/a', '1');
    await closing.close();
    await expect(closing.get('kv7/a')).rejects.toMatchObject({ code: 'ERR_CLIENT_CLOSED' });
    await closing.close();
  });
});
