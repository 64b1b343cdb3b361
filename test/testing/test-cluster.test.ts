// conclave/testing as a user would write tests with it: an in-process 3-member cluster
// (createTestCluster), the SDK's Mutex and Election on clients pinned to chosen members, and
// the cluster's fault helpers (partition, pause, kill/restart, expire a lease). Outcomes are
// states (signals aborted, tokens ordered, values present on a restarted member), waited for
// with generous bounds; nothing asserts a duration. Raft runs on real time (etcd's timing).
import { afterEach, describe, expect, it } from 'vitest';
import { Election, FencingGuard, Mutex, Session } from '../../src/index.js';
import { createTestCluster } from '../../src/testing/index.js';
import type { TestCluster } from '../../src/testing/index.js';
import { waitFor } from '../support/wait.js';

const others = (cluster: TestCluster, index: number): number[] => cluster.members.map((m) => m.index).filter((i) => i !== index);

describe('createTestCluster', () => {
  let cluster: TestCluster | undefined;

  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('a Mutex holder partitioned away loses the lock after its TTL; the next holder gets a larger token', async () => {
    cluster = await createTestCluster({ members: 3 });
    const leader = await cluster.waitForLeader();
    const away = others(cluster, leader.index)[0]!;
    const stale = await new Mutex(await cluster.client({ members: [away] }).session({ ttlSeconds: 2 }), 'orders').lock();
    const guard = new FencingGuard();
    guard.check('orders-db', stale.token);

    cluster.isolate(away);
    // Its keep-alives cannot reach the leader: the held lock's signal aborts once the TTL has passed.
    await waitFor(() => expect(stale.signal.aborted).toBe(true), { timeout: 30_000 });
    const next = await new Mutex(await cluster.client({ members: others(cluster, away) }).session({ ttlSeconds: 10 }), 'orders').lock({ timeoutMs: 30_000 });
    expect(next.token).toBeGreaterThan(stale.token);
    guard.check('orders-db', next.token);
    expect(() => guard.check('orders-db', stale.token)).toThrow(expect.objectContaining({ code: expect.any(String) }));

    cluster.heal();
    // Healed, the stale holder's member agrees: its key is gone, the new holder's is there.
    const healed = cluster.client({ members: [away] });
    await waitFor(async () => expect((await healed.getPrefix('orders/')).kvs.map((kv) => kv.key.toString())).toEqual([next.key]), { timeout: 30_000 });
    await next.unlock();
  }, 120_000);

  it('an election fails over when the leader member is killed, and the member restarts on its data', async () => {
    cluster = await createTestCluster({ members: 3 });
    const raftLeader = await cluster.waitForLeader();
    const first = await new Election(await Session.create(cluster.client({ members: [raftLeader.index] }), { ttlSeconds: 2 }), 'workers').campaign('node-a');
    const standbyClient = cluster.client({ members: others(cluster, raftLeader.index) });
    const standby = new Election(await Session.create(standbyClient, { ttlSeconds: 10 }), 'workers');
    const campaign = standby.campaign('node-b');
    campaign.catch(() => undefined); // awaited below; no unhandled rejection while the kill runs
    expect((await standby.leader())?.value).toBe('node-a');

    await cluster.kill(raftLeader.index);
    const newRaftLeader = await cluster.waitForLeader();
    expect(newRaftLeader.index).not.toBe(raftLeader.index);
    // node-a's session lease expires on the new raft leader; node-b is elected.
    const second = await campaign;
    expect(second.token).toBeGreaterThan(first.token);
    expect((await standby.leader())?.value).toBe('node-b');

    await cluster.restart(raftLeader.index);
    const restarted = cluster.client({ members: [raftLeader.index] });
    await waitFor(async () => expect((await restarted.get(second.key).serializable()).kvs.map((kv) => kv.value.toString())).toEqual(['node-b']), { timeout: 30_000 });
    await second.resign();
  }, 120_000);

  it('pause: a paused follower falls behind and catches up on resume; expireLease ends a session', async () => {
    cluster = await createTestCluster({ members: 3 });
    const leader = await cluster.waitForLeader();
    const paused = others(cluster, leader.index)[0]!;
    const client = cluster.client({ members: others(cluster, paused) });
    cluster.pause(paused);
    expect(cluster.members[paused]!.isPaused).toBe(true);
    for (let i = 0; i < 5; i += 1) await client.put(`paused/${i}`, String(i));
    // The five puts were proposed after the pause: none of them reached the paused member's log.
    const leaderIndex = cluster.members[leader.index]!.status().raftIndex;
    expect(cluster.members[paused]!.status().raftIndex).toBeLessThanOrEqual(leaderIndex - 5);
    cluster.resume(paused);
    const caughtUp = cluster.client({ members: [paused] });
    await waitFor(async () => expect((await caughtUp.getPrefix('paused/').serializable()).kvs).toHaveLength(5), { timeout: 30_000 });

    const session = await Session.create(client, { ttlSeconds: 60 });
    const held = await new Mutex(session, 'expiring').lock();
    await cluster.expireLease(session.leaseId);
    await waitFor(() => expect(held.signal.aborted).toBe(true), { timeout: 30_000 });
    expect((await client.getPrefix('expiring/')).kvs).toEqual([]);
  }, 120_000);

  it('validates its options and refuses use after close', async () => {
    await expect(createTestCluster({ members: 0 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'members' });
    await expect(createTestCluster({ members: 8 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    const single = await createTestCluster({ members: 1 });
    expect(() => single.partition([0], [0])).toThrow(/two groups/);
    expect(() => single.pause(3)).toThrow(/no member 3/);
    await single.close();
    await single.close();
    expect(() => single.client()).toThrow(expect.objectContaining({ code: 'ERR_TEST_CLUSTER_CLOSED' }));
  }, 60_000);
});
