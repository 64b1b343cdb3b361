/**
 * The `etcd3` npm client (nobody here wrote it) against the Conclave cluster, connected to all
 * three members: KV, txn, watch, lease, lock, election and STM. Each check states an outcome
 * seen through that client (values, revisions, events, TTLs, exclusion, leadership, retried
 * transactions); lease keys are read back through the client's own LeaseTimeToLive call,
 * which a follower forwards to the leader. Waits are bounded polls for a state.
 */
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor } from '../../support/wait.js';
import type { InteropContext } from './context.js';

export function etcd3Checks(context: () => InteropContext): void {
  let client: Etcd3;
  let memberIds: string[];
  const passed = (area: string): void => {
    context().summary.etcd3.push(area);
  };

  beforeAll(async () => {
    client = new Etcd3({ hosts: context().cluster.endpoints(), dialTimeout: 5_000 });
    memberIds = (await client.cluster.memberList({})).members.map((m) => m.ID);
  });

  afterAll(() => client?.close());

  it('etcd3: put, get (single, prefix, sorted, limited, keys only, count), delete', async () => {
    await client.put('e3kv/a').value('1');
    await client.put('e3kv/b').value('2');
    await client.put('e3kv/c').value('3');
    expect(await client.get('e3kv/a').string()).toBe('1');
    expect(await client.getAll().prefix('e3kv/').strings()).toEqual({ 'e3kv/a': '1', 'e3kv/b': '2', 'e3kv/c': '3' });
    expect(await client.getAll().prefix('e3kv/').sort('Key', 'Descend').limit(2).keys()).toEqual(['e3kv/c', 'e3kv/b']);
    expect(await client.getAll().prefix('e3kv/').count()).toBe(3);
    const deleted = await client.delete().key('e3kv/b').exec();
    expect(deleted.deleted).toBe('1');
    expect(await client.get('e3kv/b').string()).toBeNull();
    const res = await client.get('e3kv/a').exec();
    expect(res.kvs[0]!.version).toBe('1');
    expect(memberIds).toHaveLength(3);
    expect(memberIds).toContain(res.header.member_id);
    // A put's revision is the next read's header revision (no one else writes under this prefix).
    const put = await client.put('e3kv/d').value('4').exec();
    expect((await client.get('e3kv/d').exec()).kvs[0]!.mod_revision).toBe(put.header.revision);
    passed('KV');
  });

  it('etcd3: compare-and-swap txns on both branches', async () => {
    await client.put('e3txn/k').value('old');
    const hit = await client.if('e3txn/k', 'Value', '==', 'old').then(client.put('e3txn/k').value('new')).else(client.get('e3txn/k')).commit();
    expect(hit.succeeded).toBe(true);
    const miss = await client.if('e3txn/k', 'Value', '==', 'old').then(client.put('e3txn/k').value('newer')).else(client.get('e3txn/k')).commit();
    expect(miss.succeeded).toBe(false);
    expect(miss.responses[0]!.response_range!.kvs[0]!.value.toString()).toBe('new');
    await expect(client.put('e3txn/x').value('y').lease('1234')).rejects.toThrow(/requested lease not found/);
    passed('txn');
  });

  it('etcd3: watch sees puts and deletes in order', async () => {
    const watcher = await client.watch().prefix('e3w/').create();
    const seen: string[] = [];
    watcher.on('put', (kv) => seen.push(`put ${kv.key.toString()}=${kv.value.toString()}`));
    watcher.on('delete', (kv) => seen.push(`delete ${kv.key.toString()}`));
    await client.put('e3w/1').value('a');
    await client.put('e3w/2').value('b');
    await client.delete().key('e3w/1');
    await waitFor(() => expect(seen).toEqual(['put e3w/1=a', 'put e3w/2=b', 'delete e3w/1']));
    await watcher.cancel();
    passed('watch');
  });

  it('etcd3: lease grant, attach, keep-alive, time-to-live with keys, revoke', async () => {
    const lease = client.lease(30, { autoKeepAlive: false });
    const id = await lease.grant();
    await lease.put('e3lease/k').value('v');
    const keepalive = await lease.keepaliveOnce();
    expect(keepalive.TTL).toBe('30');
    const ttl = await client.leaseClient.leaseTimeToLive({ ID: id, keys: true });
    expect(ttl.grantedTTL).toBe('30');
    expect(ttl.keys.map((k) => k.toString())).toEqual(['e3lease/k']);
    await lease.revoke();
    expect(await client.get('e3lease/k').string()).toBeNull();
    expect((await client.leaseClient.leaseTimeToLive({ ID: id })).TTL).toBe('-1');
    passed('lease');
  });

  it('etcd3: a second locker is refused until the first releases', async () => {
    const first = await client.lock('e3locks/one').ttl(10).acquire();
    await expect(client.lock('e3locks/one').ttl(10).acquire()).rejects.toThrow();
    await first.release();
    const second = await client.lock('e3locks/one').ttl(10).acquire();
    await second.release();
    expect(await client.getAll().prefix('e3locks/one').count()).toBe(0);
    passed('lock');
  });

  it('etcd3: one leader is elected, observed, and handed over on resign', async () => {
    const election = client.election('e3elect/a', 10);
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
    passed('election');
  });

  it('etcd3: STM transactions retry on conflict and count exactly', async () => {
    await client.put('e3stm/counter').value('0');
    await Promise.all(Array.from({ length: 5 }, () =>
      client.stm({ retries: 30 }).transact(async (tx) => {
        const value = Number(await tx.get('e3stm/counter').string());
        await tx.put('e3stm/counter').value(String(value + 1));
      })));
    expect(await client.get('e3stm/counter').string()).toBe('5');
    passed('STM');
  });
}
