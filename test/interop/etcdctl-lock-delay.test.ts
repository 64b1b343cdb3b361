// Method: real etcd and a real `etcdctl lock` holder on the same name as a Mutex with
// lockDelayMs. The holder is killed with SIGKILL (no unlock), its session lease expires on the
// server, and our waiter must see a lost holder and hold its grant back until the delay has
// passed on its fake clock. Shows that lock-delay works on etcd's key layout with etcdctl.
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/base/index.js';
import { Session } from '../../src/lease/index.js';
import { Mutex } from '../../src/lock/index.js';
import type { HandoffInfo, HeldLock } from '../../src/lock/index.js';
import { missingBinaries } from '../support/binaries.js';
import { useEtcdFixture } from '../support/etcd-fixture.js';
import { EtcdctlProcess } from '../support/etcdctl.js';
import { waitFor } from '../support/wait.js';

const skip = missingBinaries('etcd', 'etcdctl');

describe.skipIf(skip !== undefined)('lock-delay with an etcdctl lock holder', () => {
  const fixture = useEtcdFixture();

  it('an etcdctl holder killed without unlocking: the waiter sees a lost holder and waits out the delay', async () => {
    const holder = fixture.track(new EtcdctlProcess(fixture.etcd.endpoints, ['lock', 'delay-etcdctl', '--ttl', '2']));
    await waitFor(() => expect(holder.lines().some((line) => line.startsWith('delay-etcdctl/'))).toBe(true), { timeout: 10_000, interval: 25 });
    const holderKey = holder.lines().find((line) => line.startsWith('delay-etcdctl/'))!;
    const session = await Session.create(fixture.client, { ttlSeconds: 30 });
    const clock = new FakeClock();
    const handoffs: HandoffInfo[] = [];
    let held: HeldLock | undefined;
    const locking = new Mutex(session, 'delay-etcdctl', { lockDelayMs: 3_000, clock, onHandoff: (h) => handoffs.push(h) }).lock().then((h) => (held = h));
    await waitFor(async () => expect((await fixture.client.get('delay-etcdctl/').prefix()).kvs).toHaveLength(2));
    await holder.kill();
    await waitFor(() => expect(clock.pendingTimers()).toBe(1), { timeout: 20_000, interval: 50 });
    expect(await fixture.client.get(holderKey).string()).toBeUndefined();
    expect(held).toBeUndefined();
    clock.advance(3_000);
    await locking;
    expect(handoffs).toMatchObject([{ cause: 'lost', key: holderKey, delayedMs: 3_000 }]);
    await held!.unlock();
    await session.close();
  }, 60_000);
});
