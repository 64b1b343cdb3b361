/**
 * Service discovery: register two instances under leases, list them, and spread calls with a
 * round-robin picker that sets a failing instance aside.
 *
 *   ETCD_ENDPOINTS=127.0.0.1:2379 npx tsx examples/discovery.ts
 */
import { Client, Picker, ServiceDiscovery, ServiceRegistry } from '../src/index.js';

const endpoints = (process.env.ETCD_ENDPOINTS ?? '127.0.0.1:2379').split(',');
await using client = new Client({ endpoints });
const registry = new ServiceRegistry(client, { prefix: 'examples/services/' });
await using a = await registry.register({ service: 'api', id: 'a', address: '10.0.0.1:8080', metadata: { zone: 'east' } });
await using b = await registry.register({ service: 'api', id: 'b', address: '10.0.0.2:8080', metadata: { zone: 'west' } });

const discovery = new ServiceDiscovery(client, { prefix: 'examples/services/' });
console.log('instances:', (await discovery.list('api')).map((i) => `${i.id}@${i.address}`).join(', '));

await using picker = new Picker(discovery, 'api', { strategy: 'round-robin', quarantineMs: 60_000 });
await picker.ready();
console.log('round-robin:', [1, 2, 3, 4].map(() => picker.pick()!.id).join(' '));
picker.noteError(picker.current.find((i) => i.id === 'a')!);
console.log('after a failed:', [1, 2, 3].map(() => picker.pick()!.id).join(' '));
console.log(`registered under leases ${a.leaseId?.toString(16)} and ${b.leaseId?.toString(16)}`);
