// Method: a real etcd member. Registrations are observed through the raw keys (checking the Go
// naming/endpoints JSON format), list(), and the watch() stream of instance sets; health and
// lease loss are provoked with a switchable health check and by revoking the entry's lease.
// Pickers are checked over a fixed set of three instances.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/base/index.js';
import { Client } from '../../src/client/index.js';
import { Picker, ServiceDiscovery, ServiceRegistry } from '../../src/discovery/index.js';
import type { ServiceInstance } from '../../src/discovery/index.js';
import { missingBinaries } from '../support/binaries.js';
import { startEtcd } from '../support/etcd.js';
import type { EtcdCluster } from '../support/etcd.js';
import { waitFor } from '../support/wait.js';

const skip = missingBinaries('etcd');

describe.skipIf(skip !== undefined)('service discovery against etcd', () => {
  let etcd: EtcdCluster;
  let admin: Client;
  let client: Client;

  beforeAll(async () => {
    etcd = await startEtcd();
    admin = new Client({ endpoints: etcd.endpoints });
    client = new Client({ endpoints: etcd.endpoints });
  });

  afterAll(async () => {
    await client?.close();
    await admin?.close();
    await etcd?.stop();
  });

  it('registers entries in the naming/endpoints format and lists and watches them', async () => {
    const registry = new ServiceRegistry(client);
    const discovery = new ServiceDiscovery(admin);
    const controller = new AbortController();
    const sets: string[][] = [];
    const watching = (async () => {
      for await (const set of discovery.watch('api', { signal: controller.signal })) sets.push(set.map((i) => i.id));
    })().catch(() => {});
    await waitFor(() => expect(sets).toEqual([[]]));
    const a = await registry.register({ service: 'api', id: 'a', address: '10.0.0.1:8080', metadata: { zone: 'z1' } });
    const raw = JSON.parse((await admin.get('services/api/a').string())!) as Record<string, unknown>;
    expect(raw).toEqual({ Op: 0, Addr: '10.0.0.1:8080', Metadata: { zone: 'z1' }, Healthy: true });
    expect((await admin.get('services/api/a')).kvs[0]!.lease).toBe(a.leaseId);
    const b = await registry.register({ service: 'api', id: 'b', address: '10.0.0.2:8080' });
    expect((await discovery.list('api')).map((i) => [i.id, i.address, i.metadata])).toEqual([['a', '10.0.0.1:8080', { zone: 'z1' }], ['b', '10.0.0.2:8080', {}]]);
    await a.deregister();
    await waitFor(() => expect(sets).toEqual([[], ['a'], ['a', 'b'], ['b']]));
    expect(await admin.get('services/api/a').string()).toBeUndefined();
    await b.deregister();
    controller.abort();
    await watching;
  });

  it('marks an instance unhealthy (or removes it) while its health check fails', async () => {
    const registry = new ServiceRegistry(client);
    const discovery = new ServiceDiscovery(admin);
    let healthy = true;
    const check = { check: () => healthy, intervalMs: 20 };
    const marked = await registry.register({ service: 'db', id: 'm', address: 'h1:1', healthCheck: check });
    const removed = await registry.register({ service: 'db', id: 'r', address: 'h2:1', healthCheck: { ...check, onUnhealthy: 'remove' } });
    healthy = false;
    await waitFor(async () => expect((await discovery.list('db', { healthyOnly: false })).map((i) => [i.id, i.healthy])).toEqual([['m', false]]));
    expect(await discovery.list('db')).toEqual([]);
    healthy = true;
    await waitFor(async () => expect((await discovery.list('db')).map((i) => i.id)).toEqual(['m', 'r']));
    await Promise.all([marked.deregister(), removed.deregister()]);
  });

  it('puts the entry back when someone else deletes it', async () => {
    const registration = await new ServiceRegistry(client).register({ service: 'queue', id: 'q1', address: 'h:2' });
    await admin.delete('services/queue/q1');
    await waitFor(async () => expect((await admin.get('services/queue/q1')).kvs[0]?.lease).toBe(registration.leaseId));
    expect(registration.registrations).toBe(1);
    await registration.deregister();
    expect(await admin.get('services/queue/q1').string()).toBeUndefined();
  });

  it('re-registers under a new lease after the lease is lost', async () => {
    const registration = await new ServiceRegistry(client).register({ service: 'cache', id: 'c1', address: 'h:1', ttlSeconds: 5 });
    const firstLease = registration.leaseId!;
    await admin.leaseRevoke(firstLease);
    await waitFor(async () => {
      const kv = (await admin.get('services/cache/c1')).kvs[0];
      expect(kv?.lease).toBeDefined();
      expect(kv!.lease).not.toBe(firstLease);
      // Counted once the put has returned, which may be just after the key is visible.
      expect(registration.registrations).toBe(2);
    }, { timeout: 10_000, interval: 50 });
    await registration.deregister();
    expect(await admin.get('services/cache/c1').string()).toBeUndefined();
  });

  it('pickers: round-robin, sticky, random, and noteError sets an instance aside', async () => {
    const registry = new ServiceRegistry(client);
    const regs = await Promise.all(['x', 'y', 'z'].map((id) => registry.register({ service: 'pick', id, address: `${id}:1` })));
    const discovery = new ServiceDiscovery(admin);
    const rr = new Picker(discovery, 'pick');
    await rr.ready();
    const ids = (n: number, p: Picker): string[] => Array.from({ length: n }, () => p.pick()!.id);
    expect(ids(6, rr)).toEqual(['x', 'y', 'z', 'x', 'y', 'z']);
    rr.noteError(rr.current.find((i) => i.id === 'y') as ServiceInstance);
    expect(new Set(ids(6, rr))).toEqual(new Set(['x', 'z']));
    const sticky = new Picker(discovery, 'pick', { strategy: 'sticky' });
    await sticky.ready();
    const first = sticky.pick()!;
    expect(ids(5, sticky)).toEqual(Array(5).fill(first.id));
    sticky.noteError(first);
    const second = sticky.pick()!;
    expect(second.id).not.toBe(first.id);
    expect(ids(3, sticky)).toEqual(Array(3).fill(second.id));
    const random = new Picker(discovery, 'pick', { strategy: 'random', random: new SeededRandom(7) });
    await random.ready();
    const picks = ids(60, random);
    expect(new Set(picks)).toEqual(new Set(['x', 'y', 'z']));
    await regs[0]!.deregister();
    await waitFor(() => expect(rr.current.map((i) => i.id)).toEqual(['y', 'z']));
    await Promise.all([rr.close(), sticky.close(), random.close(), regs[1]!.deregister(), regs[2]!.deregister()]);
  });
});
