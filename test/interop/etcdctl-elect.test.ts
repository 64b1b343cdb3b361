// Method: real etcd plus real `etcdctl elect` processes (candidates and `-l` observers) on the
// same election name as our Election. Each side must see the other's leader: checked through
// etcdctl's printed output and through our leader()/observe()/campaign() results.
import { describe, expect, it } from 'vitest';
import { Election } from '../../src/election/index.js';
import type { LeaderInfo } from '../../src/election/index.js';
import { Session } from '../../src/lease/index.js';
import { missingBinaries } from '../support/binaries.js';
import { useEtcdFixture } from '../support/etcd-fixture.js';
import { EtcdctlProcess } from '../support/etcdctl.js';
import { waitFor } from '../support/wait.js';

const skip = missingBinaries('etcd', 'etcdctl');

describe.skipIf(skip !== undefined)('Election and etcdctl elect see each other', () => {
  const fixture = useEtcdFixture();

  function spawn(args: string[]): EtcdctlProcess {
    return fixture.track(new EtcdctlProcess(fixture.etcd.endpoints, args));
  }

  it('etcdctl leads: we see it, wait behind it, and take over when it resigns', async () => {
    const observer = spawn(['elect', '-l', 'job']);
    const leader = spawn(['elect', 'job', 'from-etcdctl']);
    await waitFor(() => expect(leader.lines()).toContain('from-etcdctl'), { timeout: 10_000, interval: 25 });
    const session = await Session.create(fixture.client, { ttlSeconds: 10 });
    const election = new Election(session, 'job');
    const current = await election.leader();
    expect(current?.value).toBe('from-etcdctl');
    expect(leader.lines()).toContain(current!.key);
    const seen: Array<LeaderInfo | null> = [];
    const controller = new AbortController();
    const observing = (async () => {
      for await (const state of election.observe({ signal: controller.signal })) seen.push(state);
    })().catch(() => {});
    const campaign = election.campaign('from-conclave');
    await waitFor(async () => expect((await fixture.client.get('job/').prefix()).kvs).toHaveLength(2));
    leader.signal('SIGINT');
    const leadership = await campaign;
    expect(leadership.token).toBeGreaterThan(current!.token);
    await waitFor(() => expect(observer.lines()).toContain('from-conclave'), { timeout: 10_000, interval: 25 });
    await waitFor(() => expect(seen.map((s) => s?.value ?? null)).toEqual(['from-etcdctl', 'from-conclave']));
    controller.abort();
    await observing;
    await leadership.resign();
    await session.close();
  });

  it('we lead: etcdctl observers print our value and an etcdctl candidate waits until we resign', async () => {
    const session = await Session.create(fixture.client, { ttlSeconds: 10 });
    const leadership = await new Election(session, 'job2').campaign('conclave-leader');
    const observer = spawn(['elect', '-l', 'job2']);
    await waitFor(() => expect(observer.lines()).toContain('conclave-leader'), { timeout: 10_000, interval: 25 });
    expect(observer.lines()).toContain(leadership.key);
    const candidate = spawn(['elect', 'job2', 'etcdctl-candidate']);
    await waitFor(async () => expect((await fixture.client.get('job2/').prefix()).kvs).toHaveLength(2), { timeout: 10_000 });
    // etcdctl prints its key and value only once it is elected.
    expect(candidate.lines()).not.toContain('etcdctl-candidate');
    await leadership.proclaim('conclave-leader-2');
    await waitFor(() => expect(observer.lines()).toContain('conclave-leader-2'), { timeout: 10_000, interval: 25 });
    expect(candidate.lines()).not.toContain('etcdctl-candidate');
    await leadership.resign();
    await waitFor(() => expect(candidate.lines()).toContain('etcdctl-candidate'), { timeout: 10_000, interval: 25 });
    await waitFor(() => expect(observer.lines()).toContain('etcdctl-candidate'), { timeout: 10_000, interval: 25 });
    expect((await new Election(session, 'job2').leader())?.value).toBe('etcdctl-candidate');
    candidate.signal('SIGINT');
    await candidate.exited;
    await session.close();
  });
});
