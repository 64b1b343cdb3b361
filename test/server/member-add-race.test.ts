// Issue 15: a MemberAdd must be validated against the leader's applied cluster state. Three
// members in this process on loopback peer URLs; one follower is held behind (the leader's
// messages to it are dropped by the test-only peer filter) while a first add applies on the
// leader, then the same peer URL is added again through that stale follower. The follower's own
// state still lacks the URL; the leader's has it, so the second add must be refused with etcd's
// "Peer URLs already exists", and the member list must name the URL once. Also: two adds of one
// URL at once on the leader itself (the second waits for the first instead of being re-proposed
// once the first applied, unchecked). States are polled, never timed.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startMember } from '../../src/server/start.js';
import type { RunningMember } from '../../src/server/start.js';
import type { MemberInfo } from '../../src/server/api/ports.js';
import { freePorts } from '../support/ports.js';
import { waitFor } from '../support/wait.js';

const PEER_URL_EXISTS = 'etcdserver: Peer URLs already exists';
const FAILED_PRECONDITION = 9;

const running: RunningMember[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((m) => m.destroy()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** Directed cuts `from:to` (hex ids) whose peer traffic the members drop. */
const cuts = new Set<string>();
const cutKey = (from: bigint, to: bigint): string => `${from.toString(16)}:${to.toString(16)}`;

async function startCluster(): Promise<{ members: RunningMember[]; spareUrl: string }> {
  cuts.clear();
  const ports = await freePorts(4);
  const peerUrl = (i: number): string => `http://127.0.0.1:${ports[i]}`;
  const initialCluster = [0, 1, 2].map((i) => `m${i}=${peerUrl(i)}`).join(',');
  const members = await Promise.all([0, 1, 2].map(async (i) => {
    const dataDir = await mkdtemp(join(tmpdir(), `conclave-add-race-m${i}-`));
    dirs.push(dataDir);
    const member = await startMember({
      name: `m${i}`,
      dataDir,
      listenClientUrls: ['http://127.0.0.1:0'],
      listenPeerUrls: [peerUrl(i)],
      initialCluster,
      initialClusterToken: `add-race-${process.pid}`,
      heartbeatIntervalMs: 100,
      electionTimeoutMs: 1000,
      peerMessageFilter: (from, to) => !cuts.has(cutKey(from, to)),
    });
    running.push(member);
    return member;
  }));
  return { members, spareUrl: peerUrl(3) };
}

async function leaderOf(members: readonly RunningMember[]): Promise<RunningMember> {
  return waitFor(() => {
    const leaders = members.filter((m) => m.member.isLeader());
    expect(leaders).toHaveLength(1);
    // Every member follows it (so a follower's proposal or forwarded call reaches it).
    for (const m of members) expect(m.member.leaderId()).toBe(leaders[0]!.member.memberId);
    return leaders[0]!;
  });
}

const withUrl = (m: RunningMember, url: string): MemberInfo[] => m.member.members().filter((info) => info.peerUrls.includes(url));

describe('MemberAdd is validated on the leader (issue 15)', () => {
  it('a retry through a follower that has not applied the first add is refused: Peer URLs already exists', async () => {
    const { members, spareUrl } = await startCluster();
    const leader = await leaderOf(members);
    const stale = members.find((m) => m !== leader)!;
    // Hold `stale` behind: nothing from the leader reaches it (its own messages still go out).
    cuts.add(cutKey(leader.member.memberId, stale.member.memberId));
    const first = await leader.member.addMember([spareUrl], true);
    expect(withUrl(leader, spareUrl).map((m) => m.id)).toEqual([first.id]);
    // The race's precondition: the follower still follows the leader but has not seen the add.
    expect(stale.member.leaderId()).toBe(leader.member.memberId);
    expect(withUrl(stale, spareUrl)).toEqual([]);

    // Let traffic flow again and retry through the stale follower in the same turn, before it
    // could catch up.
    cuts.clear();
    const second = await stale.member.addMember([spareUrl], true).then(
      (added) => ({ added }),
      (error: unknown) => ({ error: error as { grpcCode?: number; grpcMessage?: string } }),
    );
    expect(second).toEqual({ error: expect.objectContaining({ grpcCode: FAILED_PRECONDITION, grpcMessage: PEER_URL_EXISTS }) });

    // Every member ends up with the first add only.
    await waitFor(() => {
      for (const m of members) expect(withUrl(m, spareUrl).map((info) => info.id)).toEqual([first.id]);
    });
    expect(leader.member.members()).toHaveLength(4);
  }, 60_000);

  it('an add through an up-to-date follower is forwarded and answered once the follower has applied it too', async () => {
    const { members, spareUrl } = await startCluster();
    const leader = await leaderOf(members);
    const follower = members.find((m) => m !== leader)!;
    const added = await follower.member.addMember([spareUrl], false);
    expect(added).toMatchObject({ peerUrls: [spareUrl], isLearner: false });
    expect(withUrl(follower, spareUrl).map((info) => info.id)).toEqual([added.id]);
    expect(withUrl(leader, spareUrl).map((info) => info.id)).toEqual([added.id]);
  }, 60_000);

  it('two adds of one peer URL at once on the leader: one is added, the other refused', async () => {
    const { members, spareUrl } = await startCluster();
    const leader = await leaderOf(members);
    const results = await Promise.allSettled([leader.member.addMember([spareUrl], true), leader.member.addMember([spareUrl], true)]);
    const added = results.filter((r): r is PromiseFulfilledResult<MemberInfo> => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(added).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.reason).toMatchObject({ grpcCode: FAILED_PRECONDITION, grpcMessage: PEER_URL_EXISTS });
    await waitFor(() => {
      for (const m of members) expect(withUrl(m, spareUrl).map((info) => info.id)).toEqual([added[0]!.value.id]);
    });
  }, 60_000);
});

describe('MemberUpdate is validated when applied (issue 15)', () => {
  it('two updates of different members to one peer URL, proposed before either applied: one is applied, the other refused', async () => {
    const { members, spareUrl } = await startCluster();
    const leader = await leaderOf(members);
    const [a, b] = members.filter((m) => m !== leader).map((m) => m.member.memberId);
    // Both pass the proposer's check (neither is applied yet); only the apply-time check can tell.
    const results = await Promise.allSettled([leader.member.updateMember(a!, [spareUrl]), leader.member.updateMember(b!, [spareUrl])]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
    expect(refused.reason).toMatchObject({ grpcCode: FAILED_PRECONDITION, grpcMessage: PEER_URL_EXISTS });
    const winner = results[0]!.status === 'fulfilled' ? a : b;
    // The leader and the member not moved to the spare URL agree: one member holds it, and keeps
    // it (a member's own publish of its name and client URLs, still in flight from its start,
    // once undid the update by re-sending its old peer URLs).
    const stillReachable = members.filter((m) => m.member.memberId !== winner);
    await waitFor(() => {
      for (const m of stillReachable) expect(withUrl(m, spareUrl).map((info) => info.id)).toEqual([winner]);
    });
    // Once every member's publish has applied (each record names its member), the URL is still the winner's.
    await waitFor(() => expect(leader.member.members().map((info) => info.name).sort()).toEqual(['m0', 'm1', 'm2']));
    for (const m of stillReachable) expect(withUrl(m, spareUrl).map((info) => info.id)).toEqual([winner]);
  }, 60_000);
});
