// Auth state is replicated state: it survives kill -9 and reaches a member that was down by
// snapshot. Three `conclave server` processes (both engines): with auth on, a follower is
// killed; users, roles and permissions change while it is down and the others write past a
// snapshot (more than the 5,000 entries kept for slow followers); restarted, it catches up
// by snapshot and enforces exactly the new rules when asked directly. Then every member is
// killed at once and restarted: the rules and the auth revision are the same everywhere.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, PermissionDeniedError } from '../../src/client/index.js';
import { missingBinaries } from '../support/binaries.js';
import { ConclaveCluster } from './support/cluster.js';
import type { ConclaveNode } from './support/cluster.js';

const skip = missingBinaries('etcdctl');

async function leaderOf(cluster: ConclaveCluster): Promise<ConclaveNode> {
  const c = new Client({ endpoints: [cluster.nodes[0]!.endpoint] });
  try {
    const status = await c.status();
    const members = await c.memberList();
    const leader = members.find((m) => m.id === status.leader);
    const node = cluster.nodes.find((n) => leader?.clientUrls.some((u) => u.endsWith(n.endpoint)) === true);
    if (node === undefined) throw new Error('leader not found');
    return node;
  } finally {
    c.destroy();
  }
}

/** What the rules must say, asked of one member only. */
async function expectRules(node: ConclaveNode): Promise<bigint> {
  const only = { endpoints: [node.endpoint], retry: { retries: 8, minDelayMs: 50, maxDelayMs: 1_000 } };
  const svc = new Client({ ...only, auth: { username: 'svc', password: 'svcpw' } });
  const late = new Client({ ...only, auth: { username: 'late', password: 'latepw' } });
  const anonymous = new Client(only);
  const root = new Client({ ...only, auth: { username: 'root', password: 'rootpw' } });
  try {
    // svc lost read-write on app/ while the member was down and kept read only.
    expect((await svc.get('app/seed').serializable()).kvs[0]?.value.toString()).toBe('v');
    await expect(svc.put('app/seed', 'changed')).rejects.toBeInstanceOf(PermissionDeniedError);
    // late was added while the member was down.
    await late.put('app/late', 'ok');
    await expect(anonymous.get('app/seed').serializable()).rejects.toMatchObject({ code: 'ERR_ETCD_USER_EMPTY' });
    expect(await root.auth.userGet('svc')).toEqual(['reader']);
    const status = await root.auth.status();
    expect(status.enabled).toBe(true);
    return status.authRevision;
  } finally {
    for (const c of [svc, late, anonymous, root]) c.destroy();
  }
}

for (const engine of ['memory', 'lmdb'] as const) {
  describe.skipIf(skip !== undefined).sequential(`auth state across kill -9 and snapshot catch-up (${engine})`, () => {
    let cluster: ConclaveCluster;

    beforeAll(async () => {
      cluster = await ConclaveCluster.start({ engine, snapshotCount: 500 });
      const admin = new Client({ endpoints: cluster.endpoints() });
      try {
        await admin.auth.userAdd('root', 'rootpw');
        await admin.auth.userGrantRole('root', 'root');
        await admin.auth.roleAdd('app');
        await admin.auth.roleGrantPermission('app', { type: 'readwrite', prefix: 'app/' });
        await admin.auth.userAdd('svc', 'svcpw');
        await admin.auth.userGrantRole('svc', 'app');
        await admin.put('app/seed', 'v');
        await admin.auth.enable();
      } finally {
        admin.destroy();
      }
    }, 180_000);

    afterAll(async () => {
      await cluster?.stop();
    });

    it('a member down while the rules change catches up by snapshot and enforces the new rules', async () => {
      const leader = await leaderOf(cluster);
      const victim = cluster.nodes.find((n) => n !== leader)!;
      await victim.kill();
      const others = cluster.nodes.filter((n) => n !== victim);
      const root = new Client({ endpoints: cluster.endpoints(others), auth: { username: 'root', password: 'rootpw' }, callTimeoutMs: 30_000 });
      try {
        await root.auth.roleAdd('reader');
        await root.auth.roleGrantPermission('reader', { type: 'read', prefix: 'app/' });
        await root.auth.userGrantRole('svc', 'reader');
        await root.auth.userRevokeRole('svc', 'app');
        await root.auth.userAdd('late', 'latepw');
        await root.auth.userGrantRole('late', 'app');
        // Past the 5,000 entries kept behind a snapshot, so the leader must send one.
        let next = 0;
        await Promise.all(Array.from({ length: 16 }, async () => {
          while (next < 5_600) {
            const i = next++;
            for (;;) {
              try {
                await root.put(`app/bulk/${i}`, String(i));
                break;
              } catch (error) {
                // Refused before it was proposed (the apply backlog on a loaded machine): safe to send again.
                if ((error as { code?: string }).code !== 'ERR_ETCD_TOO_MANY_REQUESTS') throw error;
                await new Promise((resolve) => setTimeout(resolve, 100));
              }
            }
          }
        }));
      } finally {
        root.destroy();
      }
      await cluster.restart(victim);
      const revisionOnVictim = await expectRules(victim);
      expect(victim.log).toMatch(/restoring a snapshot from the leader/);
      for (const node of others) expect(await expectRules(node)).toBe(revisionOnVictim);
    }, 400_000);

    it('every member killed with kill -9 at once comes back with the same rules', async () => {
      const before = await expectRules(cluster.nodes[0]!);
      await Promise.all(cluster.nodes.map((n) => n.kill()));
      for (const node of cluster.nodes) node.restart();
      for (const node of cluster.nodes) await cluster.waitServing(node);
      for (const node of cluster.nodes) expect(await expectRules(node)).toBe(before);
    }, 300_000);
  });
}
