// Method: real etcd 3.4 and a Conclave member (test/support/primitive-checks.ts runs the suite on each); contenders are separate sessions. Concurrency limits are checked
// through which acquire() calls have resolved at each step (and the keys on the server), and
// FIFO order by checking that a late reader queues behind a waiting writer.
import { expect, it } from 'vitest';
import type { Session } from '../../src/lease/index.js';
import { RWMutex, Semaphore } from '../../src/lock/index.js';
import { checkUncontendedNeedsNoWatch, checkWaitersShareOneStream, describeOnEveryTarget, track } from '../support/primitive-checks.js';
import { waitFor } from '../support/wait.js';

describeOnEveryTarget('RWMutex and Semaphore', (fx) => {
  const session = (): Promise<Session> => fx.session();
  const count = (prefix: string): Promise<number> => fx.count(prefix);

  it('readers share, a writer waits for them, and a later reader queues behind the writer', async () => {
    const [s1, s2, s3, s4] = await Promise.all([session(), session(), session(), session()]);
    const r1 = await new RWMutex(s1, 'rw1').readLock();
    const r2 = await new RWMutex(s2, 'rw1').readLock();
    const writer = track(new RWMutex(s3, 'rw1').writeLock());
    await waitFor(async () => expect(await count('rw1/write/')).toBe(1));
    const lateReader = track(new RWMutex(s4, 'rw1').readLock());
    await waitFor(async () => expect(await count('rw1/read/')).toBe(3));
    await r1.unlock();
    expect(writer.done()).toBe(false);
    await r2.unlock();
    const w = await writer.promise;
    expect(w.token).toBeGreaterThan(r2.token);
    expect(lateReader.done()).toBe(false);
    await w.unlock();
    const r4 = await lateReader.promise;
    expect(r4.token).toBeGreaterThan(w.token);
    await r4.unlock();
    expect(await count('rw1/')).toBe(0);
  });

  it('a semaphore admits at most its permit count, in FIFO order', async () => {
    const sessions = await Promise.all([session(), session(), session(), session()]);
    const [a, b, c, d] = sessions.map((s) => new Semaphore(s, 'sem1', 2));
    const ha = await a!.acquire();
    const hb = await b!.acquire();
    const third = track(c!.acquire());
    await waitFor(async () => expect(await count('sem1/')).toBe(3));
    const fourth = track(d!.acquire());
    await waitFor(async () => expect(await count('sem1/')).toBe(4));
    expect(third.done() || fourth.done()).toBe(false);
    await hb.unlock();
    const hc = await third.promise;
    expect(fourth.done()).toBe(false);
    expect((await a!.contenders()).slice(0, 2)).toEqual([ha.key, hc.key]);
    await ha.unlock();
    const hd = await fourth.promise;
    expect(hd.token).toBeGreaterThan(hc.token);
    await expect(new Semaphore(sessions[0]!, 'sem1', 2).acquire({ timeoutMs: 150 })).rejects.toMatchObject({ code: 'ERR_LOCK_TIMEOUT' });
    await Promise.all([hc.unlock(), hd.unlock()]);
    expect(await count('sem1/')).toBe(0);
    expect(() => new Semaphore(sessions[0]!, 'sem1', 0)).toThrow(expect.objectContaining({ option: 'permits' }));
  });

  it('uncontended read, write and semaphore acquisitions create no watch', async () => {
    await checkUncontendedNeedsNoWatch(fx, 'rw2', (s, name) => new RWMutex(s, name).readLock());
    await checkUncontendedNeedsNoWatch(fx, 'rw3', (s, name) => new RWMutex(s, name).writeLock());
    await checkUncontendedNeedsNoWatch(fx, 'sem2', (s, name) => new Semaphore(s, name, 2).acquire());
  });

  it('writers and semaphore waiters on one client share its one watch stream', async () => {
    await checkWaitersShareOneStream(fx, 'rw4', (s, name) => new RWMutex(s, name).writeLock());
    await checkWaitersShareOneStream(fx, 'sem3', (s, name) => new Semaphore(s, name, 1).acquire());
  });
});
