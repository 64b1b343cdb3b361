// Method: real etcd plus real `etcdctl lock` processes on the same lock name as our Mutex.
// Exclusion in both directions is observed through what each side reports (etcdctl prints the
// key it holds, or runs its command once it holds the lock; our lock() resolves) and through
// the keys on the server, never through timings.
import { describe, expect, it } from 'vitest';
import { Session } from '../../src/lease/index.js';
import { Mutex } from '../../src/lock/index.js';
import { missingBinaries } from '../support/binaries.js';
import { useEtcdFixture } from '../support/etcd-fixture.js';
import { EtcdctlProcess } from '../support/etcdctl.js';
import { waitFor } from '../support/wait.js';

const skip = missingBinaries('etcd', 'etcdctl');

describe.skipIf(skip !== undefined)('Mutex and etcdctl lock exclude each other', () => {
  const fixture = useEtcdFixture();

  it('etcdctl holds: our Mutex waits, and gets the lock after etcdctl releases', async () => {
    const holder = fixture.track(new EtcdctlProcess(fixture.etcd.endpoints, ['lock', 'shared-1']));
    await waitFor(() => expect(holder.lines().some((line) => line.startsWith('shared-1/'))).toBe(true), { timeout: 10_000, interval: 25 });
    const etcdctlKey = holder.lines().find((line) => line.startsWith('shared-1/'))!;
    const session = await Session.create(fixture.client, { ttlSeconds: 10 });
    const mutex = new Mutex(session, 'shared-1');
    expect(await mutex.tryLock()).toBeNull();
    expect((await mutex.holder())?.key).toBe(etcdctlKey);
    const waiting = mutex.lock();
    await waitFor(async () => expect((await fixture.client.get('shared-1/').prefix()).kvs).toHaveLength(2));
    const etcdctlToken = (await fixture.client.get(etcdctlKey)).kvs[0]!.createRevision;
    holder.signal('SIGINT');
    const held = await waiting;
    expect(held.key).toBe(mutex.key);
    expect(held.token).toBe((await fixture.client.get(mutex.key)).kvs[0]!.createRevision);
    expect(held.token).toBeGreaterThan(etcdctlToken);
    expect(await fixture.client.get(etcdctlKey).string()).toBeUndefined();
    await holder.exited;
    await held.unlock();
    await session.close();
  });

  it('we hold: etcdctl lock waits, and runs its command only after our unlock', async () => {
    const session = await Session.create(fixture.client, { ttlSeconds: 10 });
    const held = await new Mutex(session, 'shared-2').lock();
    const waiter = fixture.track(new EtcdctlProcess(fixture.etcd.endpoints, ['lock', 'shared-2', '--', 'sh', '-c', 'echo "acquired $ETCD_LOCK_KEY"']));
    // etcdctl has queued its own key behind ours, and has not run its command.
    await waitFor(async () => expect((await fixture.client.get('shared-2/').prefix()).kvs).toHaveLength(2), { timeout: 10_000 });
    expect(waiter.lines().some((line) => line.startsWith('acquired'))).toBe(false);
    expect(waiter.running).toBe(true);
    const waiterKey = (await fixture.client.get('shared-2/').prefix().sort('create')).kvs[1]!.key;
    await held.unlock();
    expect(await waiter.exited).toBe(0);
    expect(waiter.lines()).toContain(`acquired ${waiterKey}`);
    await session.close();
  });
});
