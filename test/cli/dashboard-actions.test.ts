// The dashboard's HTTP app against real etcd 3.4, without a browser: /api/state as JSON, and
// the actions: refused (403) on a read-only dashboard and without the X-Conclave-Action header;
// with --allow-actions a lease revoke deletes its keys and a resign deletes the leader key, so
// the next candidate leads; a resign for a key that is not a current leader is 404.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Election } from '../../src/index.js';
import { startDashboard } from '../../src/cli/dashboard/index.js';
import type { DashboardServer } from '../../src/cli/dashboard/index.js';
import type { Snapshot } from '../../src/cli/dashboard/state.js';
import { missingBinaries } from '../support/binaries.js';
import { startEtcd } from '../support/etcd.js';
import type { EtcdCluster } from '../support/etcd.js';
import { waitFor } from '../support/wait.js';

const skip = missingBinaries('etcd');

describe.skipIf(skip !== undefined)('dashboard actions against real etcd 3.4', () => {
  let etcd: EtcdCluster;
  let client: Client;
  let readOnly: DashboardServer;
  let actions: DashboardServer;

  beforeAll(async () => {
    etcd = await startEtcd();
    client = new Client({ endpoints: etcd.endpoints });
    readOnly = await startDashboard({ client, listenUrl: 'http://127.0.0.1:0', refreshMs: 200 });
    actions = await startDashboard({ client, listenUrl: 'http://127.0.0.1:0', refreshMs: 200, allowActions: true });
  }, 60_000);

  afterAll(async () => {
    await readOnly?.close();
    await actions?.close();
    await client?.close();
    await etcd?.stop();
  });

  const post = (server: DashboardServer, path: string, header = true) => fetch(`${server.url}${path}`, { method: 'POST', headers: header ? { 'X-Conclave-Action': '1' } : {} });
  const state = async (server: DashboardServer): Promise<Snapshot> => (await (await fetch(`${server.url}/api/state`)).json()) as Snapshot;

  it('revokes a lease and resigns a leader only when allowed', async () => {
    const grant = await client.leaseGrant(60);
    await client.put('job/owner', 'me').lease(grant.id);
    const id = grant.id.toString(16);
    await waitFor(async () => expect((await state(actions)).leases.map((l) => l.id)).toContain(id));
    expect((await post(readOnly, `/api/leases/${id}/revoke`)).status).toBe(403);
    expect((await post(actions, `/api/leases/${id}/revoke`, false)).status).toBe(403);
    expect((await client.get('job/owner')).kvs).toHaveLength(1);
    expect((await post(actions, `/api/leases/${id}/revoke`)).status).toBe(200);
    expect((await client.get('job/owner')).kvs).toHaveLength(0);

    const [a, b] = await Promise.all([client.session({ ttlSeconds: 30 }), client.session({ ttlSeconds: 30 })]);
    const leading = await new Election(a, 'sched').campaign('node-a');
    // Read at once, as a leader hands it to its work: the first read starts the ownership watch.
    const leadingSignal = leading.signal;
    const next = new Election(b, 'sched').campaign('node-b');
    await waitFor(async () => expect((await state(actions)).elections[0]?.candidates.map((c) => c.value)).toEqual(['node-b']));
    expect((await post(actions, `/api/elections/resign?key=${encodeURIComponent('sched/nope')}`)).status).toBe(404);
    expect((await post(actions, `/api/elections/resign?key=${encodeURIComponent(leading.key)}`)).status).toBe(200);
    const successor = await next;
    expect(successor.key).toBe(new Election(b, 'sched').key);
    await waitFor(async () => expect((await state(actions)).elections[0]?.leader.value).toBe('node-b'));
    await waitFor(() => expect(leadingSignal.aborted).toBe(true));
    await successor.resign();
    await a.close();
    await b.close();
    expect((await fetch(`${readOnly.url}/nope`)).status).toBe(404);
  });
});
