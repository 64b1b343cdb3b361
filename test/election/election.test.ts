// Method: real etcd 3.4 and a Conclave member (test/support/primitive-checks.ts runs the suite on each); candidates are separate clients and sessions. Leadership order,
// proclamations and resignations are checked through campaign() resolution, leader() and the
// observe() stream; session loss is provoked by revoking leases with an admin client.
import { expect, it } from 'vitest';
import { Election } from '../../src/election/index.js';
import type { LeaderInfo } from '../../src/election/index.js';
import type { Session } from '../../src/lease/index.js';
import { checkUncontendedNeedsNoWatch, checkWaitersShareOneStream, describeOnEveryTarget } from '../support/primitive-checks.js';
import { waitFor } from '../support/wait.js';

describeOnEveryTarget('Election', (fx) => {
  const session = (ttlSeconds?: number): Promise<Session> => fx.session(ttlSeconds);

  it('elects in campaign order, proclaims, resigns and hands over', async () => {
    const [s1, s2] = await Promise.all([session(), session()]);
    const e1 = new Election(s1, 'e1');
    const e2 = new Election(s2, 'e1');
    const lead1 = await e1.campaign('node-1');
    expect(lead1.key).toBe(`e1/${s1.leaseId.toString(16)}`);
    expect(await e2.leader()).toMatchObject({ key: lead1.key, value: 'node-1', token: lead1.token, lease: s1.leaseId });
    let won2 = false;
    const campaign2 = e2.campaign('node-2').then((l) => ((won2 = true), l));
    await waitFor(async () => expect((await fx.admin.get('e1/').prefix()).kvs).toHaveLength(2));
    await lead1.proclaim('node-1b');
    expect((await e2.leader())?.value).toBe('node-1b');
    expect(won2).toBe(false);
    await lead1.resign();
    const lead2 = await campaign2;
    expect(lead2.token).toBeGreaterThan(lead1.token);
    expect(lead1.signal.reason).toMatchObject({ code: 'ERR_LOCK_RELEASED' });
    await expect(lead1.proclaim('stale')).rejects.toMatchObject({ code: expect.stringMatching(/^ERR_LOCK_(LOST|RELEASED)$/) });
    expect((await e1.leader())?.value).toBe('node-2');
    await lead2.resign();
    expect(await e1.leader()).toBeNull();
  });

  it('observe() reports leaders, proclamations, and null when nobody leads', async () => {
    const s1 = await session(2);
    const e = new Election(s1, 'e2');
    const controller = new AbortController();
    const seen: Array<LeaderInfo | null> = [];
    const observing = (async () => {
      for await (const state of new Election(await session(), 'e2').observe({ signal: controller.signal })) seen.push(state);
    })().catch((error: unknown) => error);
    await waitFor(() => expect(seen).toEqual([null]));
    const lead = await e.campaign('a');
    await waitFor(() => expect(seen.map((s) => s?.value ?? null)).toEqual([null, 'a']));
    await lead.proclaim('b');
    await waitFor(() => expect(seen.map((s) => s?.value ?? null)).toEqual([null, 'a', 'b']));
    // The leader's session expires: observers learn that nobody leads.
    await fx.admin.leaseRevoke(s1.leaseId);
    await waitFor(() => expect(seen.map((s) => s?.value ?? null)).toEqual([null, 'a', 'b', null]));
    await waitFor(() => expect(lead.held).toBe(false));
    controller.abort(new Error('stop observing'));
    expect(await observing).toMatchObject({ message: 'stop observing' });
  });

  it('a campaign waiting when its session expires rejects', async () => {
    const [s1, s2] = await Promise.all([session(), session()]);
    const lead = await new Election(s1, 'e3').campaign('x');
    const waiting = new Election(s2, 'e3').campaign('y');
    await waitFor(async () => expect((await fx.admin.get('e3/').prefix()).kvs).toHaveLength(2));
    await fx.admin.leaseRevoke(s2.leaseId);
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_SESSION_EXPIRED' });
    expect((await fx.admin.get('e3/').prefix()).kvs.map((kv) => kv.key)).toEqual([lead.key]);
    await lead.resign();
  });

  it('an aborted campaign withdraws its candidacy', async () => {
    const [s1, s2] = await Promise.all([session(), session()]);
    const lead = await new Election(s1, 'e4').campaign('x');
    const controller = new AbortController();
    const waiting = new Election(s2, 'e4').campaign('y', { signal: controller.signal });
    await waitFor(async () => expect((await fx.admin.get('e4/').prefix()).kvs).toHaveLength(2));
    controller.abort(new Error('withdraw'));
    await expect(waiting).rejects.toThrow('withdraw');
    expect((await fx.admin.get('e4/').prefix()).kvs.map((kv) => kv.key)).toEqual([lead.key]);
    await expect(new Election(s2, 'e4').campaign('y', { timeoutMs: 100 })).rejects.toMatchObject({ code: 'ERR_LOCK_TIMEOUT' });
    await lead.resign();
  });

  it('an uncontended campaign and resign create no watch', async () => {
    await checkUncontendedNeedsNoWatch(fx, 'e5', (s, name) => new Election(s, name).campaign('v'));
  });

  it('candidates on one client share its one watch stream', async () => {
    await checkWaitersShareOneStream(fx, 'e6', (s, name) => new Election(s, name).campaign('v'));
  });
});
