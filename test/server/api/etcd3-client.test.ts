// Interop with a client nobody here wrote: the `etcd3` npm package drives the gRPC API over
// an in-memory port (no member) on a loopback port. Each test states an observable outcome
// through that client (values, revisions, events, lease TTLs, lock exclusion, election
// leadership, STM retries); nothing waits on wall-clock time except bounded `waitFor` polls.
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../support/wait.js';
import { startApi, type RunningApi } from './support/api-server.js';

let api: RunningApi;
let client: Etcd3;

beforeAll(async () => {
  api = await startApi();
  client = new Etcd3({ hosts: `http://${api.endpoint}` });
});

afterAll(async () => {
  client?.close();
  await api?.stop();
});

describe('etcd3 npm client against the gRPC API', () => {
  it('puts, gets (single, prefix, sorted, limited, keys only), deletes', async () => {
    await client.put('kv/a').value('1');
    await client.put('kv/b').value('2');
    await client.put('kv/c').value('3');
    expect(await client.get('kv/a').string()).toBe('1');
    expect(await client.getAll().prefix('kv/').strings()).toEqual({ 'kv/a': '1', 'kv/b': '2', 'kv/c': '3' });
    expect(await client.getAll().prefix('kv/').sort('Key', 'Descend').limit(2).keys()).toEqual(['kv/c', 'kv/b']);
    expect(await client.getAll().prefix('kv/').count()).toBe(3);
    const deleted = await client.delete().key('kv/b').exec();
    expect(deleted.deleted).toBe('1');
    expect(await client.get('kv/b').string()).toBeNull();
    const res = await client.get('kv/a').exec();
    expect(res.kvs[0]!.version).toBe('1');
    expect(res.header.member_id).toBe(api.port.memberId.toString());
  });

  it('runs compare-and-swap txns on both branches', async () => {
    await client.put('txn/k').value('old');
    const hit = await client.if('txn/k', 'Value', '==', 'old').then(client.put('txn/k').value('new')).else(client.get('txn/k')).commit();
    expect(hit.succeeded).toBe(true);
    const miss = await client.if('txn/k', 'Value', '==', 'old').then(client.put('txn/k').value('newer')).else(client.get('txn/k')).commit();
    expect(miss.succeeded).toBe(false);
    expect(miss.responses[0]!.response_range!.kvs[0]!.value.toString()).toBe('new');
  });

  it('reports etcd errors the client recognises', async () => {
    await expect(client.put('x').value('y').lease('1234')).rejects.toThrow(/requested lease not found/);
  });

  it('watches puts and deletes in order', async () => {
    const watcher = await client.watch().prefix('w/').create();
    const seen: string[] = [];
    watcher.on('put', (kv) => seen.push(`put ${kv.key.toString()}=${kv.value.toString()}`));
    watcher.on('delete', (kv) => seen.push(`delete ${kv.key.toString()}`));
    await client.put('w/1').value('a');
    await client.put('w/2').value('b');
    await client.delete().key('w/1');
    await waitFor(() => expect(seen).toEqual(['put w/1=a', 'put w/2=b', 'delete w/1']));
    await watcher.cancel();
  });

  it('grants leases, keeps them alive, attaches keys and revokes them', async () => {
    const lease = client.lease(30, { autoKeepAlive: false });
    const id = await lease.grant();
    await lease.put('lease/k').value('v');
    const keepalive = await lease.keepaliveOnce();
    expect(keepalive.TTL).toBe('30');
    expect(api.port.lessor.timeToLive(BigInt(id), true).keys.map((k) => Buffer.from(k).toString())).toEqual(['lease/k']);
    await lease.revoke();
    expect(await client.get('lease/k').string()).toBeNull();
  });

  it('excludes a second locker until the first releases', async () => {
    const first = await client.lock('locks/one').ttl(10).acquire();
    await expect(client.lock('locks/one').ttl(10).acquire()).rejects.toThrow();
    await first.release();
    const second = await client.lock('locks/one').ttl(10).acquire();
    await second.release();
  });

  it('elects one leader and hands over on resign', async () => {
    const election = client.election('elect/a', 10);
    const one = election.campaign('one');
    await one.wait();
    const observer = await election.observe();
    expect(observer.leader()).toBe('one');
    const two = election.campaign('two');
    let twoElected = false;
    two.on('elected', () => (twoElected = true));
    await one.resign();
    await two.wait();
    expect(twoElected).toBe(true);
    await waitFor(() => expect(observer.leader()).toBe('two'));
    await observer.cancel();
    await two.resign();
  });

  it('runs STM transactions with retries on conflict', async () => {
    await client.put('stm/counter').value('0');
    await Promise.all(Array.from({ length: 5 }, () =>
      client.stm({ retries: 20 }).transact(async (tx) => {
        const value = Number(await tx.get('stm/counter').string());
        await tx.put('stm/counter').value(String(value + 1));
      })));
    expect(await client.get('stm/counter').string()).toBe('5');
  });
});
