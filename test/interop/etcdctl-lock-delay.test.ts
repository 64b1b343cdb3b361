// Method: real etcd and a real `etcdctl lock` holder on the same name as a Mutex with
// lockDelayMs. The holder is killed with SIGKILL (no unlock), its session lease expires on the
// server, and our waiter must see a lost holder and hold its grant back until the delay has
// passed on its fake clock. Shows that lock-delay works on etcd's key layout with etcdctl.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/client/index.js';
import { FakeClock } from '../../src/base/index.js';
import { Session } from '../../src/lease/index.js';
import { Mutex } from '../../src/lock/index.js';
import type { HandoffInfo, HeldLock } from '../../src/lock/index.js';
import { missingBinaries } from '../support/binaries.js';
import { startEtcd } from '../support/etcd.js';
import type { EtcdCluster } from '../support/etcd.js';
import { EtcdctlProcess } from '../support/etcdctl.js';
import { waitFor } from '../support/wait.js';

const skip = missingBinaries('etcd', 'etcdctl');

describe.skipIf(skip !== undefined)('lock-delay with an etcdctl lock holder', () => {
  let etcd: EtcdCluster;
  let client: Client;
  const processes: EtcdctlProcess[] = [];

  beforeAll(async () => {
    etcd = await startEtcd();
    client = new Client({ endpoints: etcd.endpoints });
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.kill()));
    await client?.close();
    await etcd?.stop();
  });

  it('an etcdctl holder killed without unlocking: the waiter sees a lost holder and waits out the delay', async () => {
    const holder = new EtcdctlProcess(etcd.endpoints, ['lock', 'delay-etcdctl', '--ttl', '2']);
    processes.push(holder);
    await waitFor(() => expect(holder.lines().some((line) => line.startsWith('delay-etcdctl/'))).toBe(true), { timeout: 10_000, interval: 25 });
    const holderKey = holder.lines().find((line) => line.startsWith('delay-etcdctl/'))!;
    const session = await Session.create(client, { ttlSeconds: 30 });
    const clock = new FakeClock();
    const handoffs: HandoffInfo[] = [];
    let held: HeldLock | undefined;
    const locking = new Mutex(session, 'delay-etcdctl', { lockDelayMs: 3_000, clock, onHandoff: (h) => handoffs.push(h) }).lock().then((h) => (held = h));
    await waitFor(async () => expect((await client.get('delay-etcdctl/').prefix()).kvs).toHaveLength(2));
    await holder.kill();
    await waitFor(() => expect(clock.pendingTimers()).toBe(1), { timeout: 20_000, interval: 50 });
    expect(await client.get(holderKey).string()).toBeUndefined();
    expect(held).toBeUndefined();
    clock.advance(3_000);
    await locking;
    expect(handoffs).toMatchObject([{ cause: 'lost', key: holderKey, delayedMs: 3_000 }]);
    await held!.unlock();
    await session.close();
  }, 60_000);
});
