// Method: real etcd; holders and candidates run in separate Node processes that we pause with
// SIGSTOP past their lease TTL (2 s, etcd's minimum) and then resume. What each side reports
// (tokens, signal state, campaign outcome, observe() stream) is checked; nothing asserts a
// duration: every wait is "until the server shows the expected state".
import { describe, expect, it } from 'vitest';
import { Election } from '../../src/election/index.js';
import type { LeaderInfo } from '../../src/election/index.js';
import { Session } from '../../src/lease/index.js';
import { FencingGuard, Mutex, StaleTokenError } from '../../src/lock/index.js';
import { missingBinaries } from '../support/binaries.js';
import { useEtcdFixture } from '../support/etcd-fixture.js';
import { HolderProcess } from '../support/holder.js';
import { waitFor } from '../support/wait.js';

const skip = missingBinaries('etcd');
const ttlSeconds = 2;

describe.skipIf(skip !== undefined)('safety under process pauses', () => {
  const fixture = useEtcdFixture();

  function spawn(args: string[]): HolderProcess {
    return fixture.track(new HolderProcess([fixture.etcd.endpoints[0]!, ...args]));
  }

  it('a holder stopped past its TTL loses the lock; the next token is larger; its fenced write is rejected; its signal has aborted', async () => {
    const guard = new FencingGuard();
    const holder = spawn(['lock', 'safe-1', String(ttlSeconds)]);
    await waitFor(() => expect(holder.event('held')).toBeDefined(), { timeout: 15_000, interval: 25 });
    const staleToken = BigInt(holder.event('held')!.token as string);
    guard.check('orders', staleToken);
    const session = await Session.create(fixture.client, { ttlSeconds: 10 });
    const next = new Mutex(session, 'safe-1').lock();
    await waitFor(async () => expect((await fixture.client.get('safe-1/').prefix()).kvs).toHaveLength(2));
    holder.signal('SIGSTOP');
    // The server expires the paused holder's lease and deletes its key: we get the lock.
    const held = await next;
    expect(held.token).toBeGreaterThan(staleToken);
    guard.check('orders', held.token);
    holder.signal('SIGCONT');
    holder.send('report');
    await waitFor(() => expect(holder.event('report')).toBeDefined(), { timeout: 10_000, interval: 25 });
    const report = holder.event('report')!;
    expect(report.aborted).toBe(true);
    expect(report.reason).toBe('ERR_LOCK_LOST');
    expect(BigInt(report.token as string)).toBe(staleToken);
    expect(() => guard.check('orders', staleToken)).toThrow(StaleTokenError);
    await held.unlock();
    await session.close();
  });

  it('a campaign waiting when its session expires rejects instead of winning', async () => {
    const session = await Session.create(fixture.client, { ttlSeconds: 10 });
    const leadership = await new Election(session, 'safe-2').campaign('leader');
    const candidate = spawn(['campaign', 'safe-2', 'late', String(ttlSeconds)]);
    await waitFor(async () => expect((await fixture.client.get('safe-2/').prefix()).kvs).toHaveLength(2), { timeout: 15_000, interval: 25 });
    candidate.signal('SIGSTOP');
    // Its lease expires on the server, deleting its candidate key; then the leader resigns, so
    // a campaign that trusted only its predecessor's deletion would wrongly win on resume.
    await waitFor(async () => expect((await fixture.client.get('safe-2/').prefix()).kvs).toHaveLength(1), { timeout: 15_000, interval: 50 });
    await leadership.resign();
    candidate.signal('SIGCONT');
    await waitFor(() => expect(candidate.event('failed') ?? candidate.event('leader')).toBeDefined(), { timeout: 10_000, interval: 25 });
    expect(candidate.event('leader')).toBeUndefined();
    expect(candidate.event('failed')!.code).toBe('ERR_SESSION_EXPIRED');
    await session.close();
  });

  it('observe() reports no leader when the leader process stops and its session expires', async () => {
    const leader = spawn(['campaign', 'safe-3', 'paused-leader', String(ttlSeconds)]);
    await waitFor(() => expect(leader.event('leader')).toBeDefined(), { timeout: 15_000, interval: 25 });
    const seen: Array<LeaderInfo | null> = [];
    const controller = new AbortController();
    const observerSession = await Session.create(fixture.client, { ttlSeconds: 10 });
    const observing = (async () => {
      for await (const state of new Election(observerSession, 'safe-3').observe({ signal: controller.signal })) seen.push(state);
    })().catch(() => {});
    await waitFor(() => expect(seen.map((s) => s?.value ?? null)).toEqual(['paused-leader']));
    leader.signal('SIGSTOP');
    await waitFor(() => expect(seen.map((s) => s?.value ?? null)).toEqual(['paused-leader', null]), { timeout: 15_000, interval: 50 });
    controller.abort();
    await observing;
    await observerSession.close();
  });
});
