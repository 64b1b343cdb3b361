// MembershipChanges.add on the leader (issue 15), against a fake member on a fake clock: the add
// waits until the leader's cluster state is complete and raft would take a change, checks
// against the state it has then, and checks again after raft refuses the change, instead of
// proposing it again unchecked. Refusals carry etcd's codes and messages.
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/base/clock.js';
import type { ConfChange } from '../../src/raft/index.js';
import { ProposalDroppedError } from '../../src/raft/index.js';
import { ClusterState } from '../../src/server/cluster-state.js';
import { MembershipChanges } from '../../src/server/membership.js';
import type { MembershipTarget } from '../../src/server/membership.js';

const HEARTBEAT_MS = 100;
const REQUEST_TIMEOUT_MS = 7000;
const SELF = 1n;
const URL = 'http://10.0.0.9:2380';

interface Proposed {
  readonly change: ConfChange;
  readonly retryDropped: boolean | undefined;
}

class FakeLeader implements MembershipTarget {
  readonly cluster = new ClusterState(7n);
  readonly memberId = SELF;
  readonly clock = new FakeClock();
  readonly options = { initialClusterToken: 'test', clock: this.clock, heartbeatIntervalMs: HEARTBEAT_MS };
  readonly requestTimeoutMs = REQUEST_TIMEOUT_MS;
  leader = true;
  ready = true;
  readonly proposed: Proposed[] = [];
  /** What the next proposal does; default: applied at once. */
  onPropose: () => Promise<unknown> = () => Promise.resolve([]);
  private requestIds = 0n;

  constructor() {
    this.cluster.members.set(SELF, { id: SELF, name: 'm0', peerUrls: ['http://10.0.0.1:2380'], clientUrls: [], isLearner: false });
  }

  isLeader(): boolean {
    return this.leader;
  }

  confChangeReady(): boolean {
    return this.leader && this.ready;
  }

  raftProgress(): ReadonlyMap<bigint, { match: number; recentActive: boolean; isLearner: boolean }> {
    return new Map([[SELF, { match: 10, recentActive: true, isLearner: false }]]);
  }

  raftLastIndex(): number {
    return 10;
  }

  nextRequestId(): bigint {
    return ++this.requestIds;
  }

  proposeConfChange(_requestId: bigint, change: ConfChange, _signal?: AbortSignal, options?: { readonly retryDropped?: boolean }): Promise<unknown> {
    this.proposed.push({ change, retryDropped: options?.retryDropped });
    return this.onPropose();
  }

  propose(): Promise<unknown> {
    return Promise.reject(new Error('not used by add'));
  }

  /** Another add of `url` applied here (by an earlier or concurrent MemberAdd). */
  applyOtherAdd(url: string): void {
    this.cluster.members.set(99n, { id: 99n, name: '', peerUrls: [url], clientUrls: [], isLearner: true });
  }
}

/** Lets promise callbacks run (timers of the fake clock resolve promises). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function outcome<T>(promise: Promise<T>): { readonly value?: T; readonly error?: unknown; readonly done: boolean } {
  const state: { value?: T; error?: unknown; done: boolean } = { done: false };
  promise.then((value) => Object.assign(state, { value, done: true }), (error: unknown) => Object.assign(state, { error, done: true }));
  return state;
}

const peerUrlExist = { grpcCode: 9, grpcMessage: 'etcdserver: Peer URLs already exists' };

describe('MembershipChanges.add on the leader', () => {
  it('proposes a learner at once when ready, asking the proposer not to propose it again if raft drops it', async () => {
    const target = new FakeLeader();
    const added = await new MembershipChanges(target).add([URL], true);
    expect(added).toMatchObject({ peerUrls: [URL], isLearner: true, name: '' });
    expect(target.proposed).toHaveLength(1);
    expect(target.proposed[0]!.retryDropped).toBe(false);
    expect(target.proposed[0]!.change.changes).toEqual([{ type: 'addLearner', nodeId: added.id }]);
  });

  it('waits until everything committed is applied, then checks against that state', async () => {
    const target = new FakeLeader();
    target.ready = false;
    const result = outcome(new MembershipChanges(target).add([URL], true));
    target.clock.advance(HEARTBEAT_MS * 3);
    await settle();
    expect(result.done).toBe(false);
    expect(target.proposed).toEqual([]);
    // The earlier add of the same URL applies; the leader is ready again.
    target.applyOtherAdd(URL);
    target.ready = true;
    target.clock.advance(HEARTBEAT_MS);
    await settle();
    expect(result.error).toMatchObject(peerUrlExist);
    expect(target.proposed).toEqual([]);
  });

  it('a change raft drops is checked again before it is proposed again', async () => {
    const target = new FakeLeader();
    target.onPropose = () => {
      // Another change came first: raft refuses this one; by the next check that one applied.
      target.applyOtherAdd(URL);
      return Promise.reject(new ProposalDroppedError('a previous membership change is not applied yet'));
    };
    const result = outcome(new MembershipChanges(target).add([URL], true));
    await settle();
    expect(target.proposed).toHaveLength(1);
    expect(result.done).toBe(false);
    target.clock.advance(HEARTBEAT_MS);
    await settle();
    expect(result.error).toMatchObject(peerUrlExist);
    expect(target.proposed).toHaveLength(1);
  });

  it('a change dropped again and again ends at the request timeout with etcd\'s "request timed out"', async () => {
    const target = new FakeLeader();
    target.onPropose = () => Promise.reject(new ProposalDroppedError('leadership is being transferred'));
    const result = outcome(new MembershipChanges(target).add([URL], false));
    for (let elapsed = 0; elapsed < REQUEST_TIMEOUT_MS; elapsed += HEARTBEAT_MS) {
      await settle();
      target.clock.advance(HEARTBEAT_MS);
    }
    await settle();
    expect(result.error).toMatchObject({ grpcCode: 14, grpcMessage: 'etcdserver: request timed out' });
    expect(target.proposed.length).toBeGreaterThan(1);
    expect(target.clock.pendingTimers()).toBe(0);
  });

  it('never ready within the request timeout: "request timed out", nothing proposed', async () => {
    const target = new FakeLeader();
    target.ready = false;
    const result = outcome(new MembershipChanges(target).add([URL], true));
    target.clock.advance(REQUEST_TIMEOUT_MS - 1);
    await settle();
    expect(result.done).toBe(false);
    target.clock.advance(1);
    await settle();
    expect(result.error).toMatchObject({ grpcCode: 14, grpcMessage: 'etcdserver: request timed out' });
    expect(target.proposed).toEqual([]);
    expect(target.clock.pendingTimers()).toBe(0);
  });

  it('refuses on a follower ("not leader"), and when leadership is lost while waiting ("leader changed")', async () => {
    const follower = new FakeLeader();
    follower.leader = false;
    await expect(new MembershipChanges(follower).add([URL], true)).rejects.toMatchObject({ grpcCode: 9, grpcMessage: 'etcdserver: not leader' });
    const target = new FakeLeader();
    target.ready = false;
    const result = outcome(new MembershipChanges(target).add([URL], true));
    target.leader = false;
    target.clock.advance(HEARTBEAT_MS);
    await settle();
    expect(result.error).toMatchObject({ grpcCode: 14, grpcMessage: 'etcdserver: leader changed' });
    expect(target.proposed).toEqual([]);
  });

  it('bad peer URLs are refused before anything else', async () => {
    const follower = new FakeLeader();
    follower.leader = false;
    await expect(new MembershipChanges(follower).add(['not a url'], true)).rejects.toMatchObject({ grpcCode: 3, grpcMessage: 'etcdserver: given member URLs are invalid' });
  });
});
