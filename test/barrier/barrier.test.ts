// Method: real etcd 3.4 and a Conclave member (test/support/primitive-checks.ts runs the suite on each); participants are separate sessions. Blocking is checked through
// which enter()/leave()/wait() promises have resolved after each step, and the keys left on
// the server; the too-many case checks the fixed admission rule (etcd#14603).
import { expect, it } from 'vitest';
import { Barrier, DoubleBarrier } from '../../src/barrier/index.js';
import type { Session } from '../../src/lease/index.js';
import { describeOnEveryTarget, track } from '../support/primitive-checks.js';
import { waitFor } from '../support/wait.js';

describeOnEveryTarget('barriers', (fx) => {
  const session = (): Promise<Session> => fx.session();

  it('Barrier: waiters pass only after release; hold twice fails', async () => {
    const barrier = new Barrier(fx.admin, 'b1');
    await barrier.wait();
    await barrier.hold();
    await expect(barrier.hold()).rejects.toMatchObject({ code: 'ERR_BARRIER_HELD' });
    const waiters = [track(new Barrier(fx.admin, 'b1').wait()), track(new Barrier(fx.admin, 'b1').wait())];
    await waitFor(() => expect(fx.admin.streamStats().watchers).toBeGreaterThanOrEqual(2));
    expect(waiters.some((w) => w.done())).toBe(false);
    await barrier.release();
    await Promise.all(waiters.map((w) => w.promise));
    expect(await barrier.isHeld()).toBe(false);
  });

  it('Barrier held under a session falls when the session ends', async () => {
    const s = await session();
    const barrier = new Barrier(fx.admin, 'b2');
    await barrier.hold({ session: s });
    const waiting = track(barrier.wait());
    await fx.admin.leaseRevoke(s.leaseId);
    await waiting.promise;
  });

  it('DoubleBarrier: nobody enters before count arrive, nobody leaves before all leave', async () => {
    const sessions = await Promise.all([session(), session(), session()]);
    const barriers = sessions.map((s) => new DoubleBarrier(s, 'db1', 3));
    const e1 = track(barriers[0]!.enter());
    const e2 = track(barriers[1]!.enter());
    await waitFor(async () => expect((await fx.admin.get('db1/waiters/').prefix()).kvs).toHaveLength(2));
    expect(e1.done() || e2.done()).toBe(false);
    await barriers[2]!.enter();
    await Promise.all([e1.promise, e2.promise]);
    expect(await fx.admin.get('db1/ready').string()).toBe('');
    await expect(new DoubleBarrier(await session(), 'db1', 3).enter()).rejects.toMatchObject({ code: 'ERR_BARRIER_TOO_MANY' });
    const l1 = track(barriers[0]!.leave());
    const l2 = track(barriers[1]!.leave());
    await waitFor(async () => expect((await fx.admin.get('db1/waiters/').prefix()).kvs.length).toBeLessThan(3));
    expect(l1.done() || l2.done()).toBe(false);
    await barriers[2]!.leave();
    await Promise.all([l1.promise, l2.promise]);
    expect((await fx.admin.get('db1/').prefix()).kvs).toEqual([]);
  });

  it('DoubleBarrier admits exactly count of many simultaneous arrivals', async () => {
    const sessions = await Promise.all([session(), session(), session(), session(), session()]);
    const results = await Promise.allSettled(sessions.map((s) => new DoubleBarrier(s, 'db2', 3).enter({ signal: AbortSignal.timeout(10_000) })));
    const admitted = results.filter((r) => r.status === 'fulfilled').length;
    const refused = results.filter((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'ERR_BARRIER_TOO_MANY').length;
    expect([admitted, refused]).toEqual([3, 2]);
    expect((await fx.admin.get('db2/waiters/').prefix()).kvs).toHaveLength(3);
  });
});
