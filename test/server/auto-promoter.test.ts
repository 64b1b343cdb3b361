// Learner auto-promotion on a fake clock: no promotion before the learner has stayed caught up
// (within the lag bound, heard from) for the configured time; a lagging or silent learner
// restarts the wait; only the leader promotes; a refused promotion is retried only after a
// new full wait; one promotion at a time.
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/base/clock.js';
import { silentLogger } from '../../src/base/logger.js';
import { AutoPromoter } from '../../src/server/auto-promoter.js';

function setup() {
  const clock = new FakeClock();
  const state = {
    leader: true,
    learners: [7n] as bigint[],
    progress: new Map<bigint, { match: number; recentActive: boolean }>([[7n, { match: 0, recentActive: true }]]),
    last: 5000,
    promoted: [] as bigint[],
    refuse: false,
    pending: undefined as undefined | (() => void),
  };
  const promoter = new AutoPromoter({
    isLeader: () => state.leader,
    learnerIds: () => state.learners,
    raftProgress: () => state.progress,
    raftLastIndex: () => state.last,
    promote: (id) => new Promise<void>((resolve, reject) => {
      state.promoted.push(id);
      if (state.refuse) reject(new Error('etcdserver: re-configuration failed due to not enough started members'));
      else state.pending = resolve;
    }),
  }, clock, { checkIntervalMs: 100, caughtUpForMs: 1000, maxLagEntries: 10 }, silentLogger);
  return { clock, state, promoter };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('AutoPromoter', () => {
  it('promotes only after the learner stayed within the lag bound for the whole wait', async () => {
    const { clock, state, promoter } = setup();
    promoter.start();
    clock.advance(2000);
    expect(state.promoted).toEqual([]); // 5000 entries behind
    state.progress.set(7n, { match: 4995, recentActive: true });
    clock.advance(900);
    expect(state.promoted).toEqual([]);
    state.progress.set(7n, { match: 4980, recentActive: true }); // fell behind: the wait restarts
    clock.advance(100);
    state.progress.set(7n, { match: 4999, recentActive: true });
    clock.advance(900);
    expect(state.promoted).toEqual([]);
    clock.advance(200);
    expect(state.promoted).toEqual([7n]);
    clock.advance(1000);
    expect(state.promoted).toEqual([7n]); // one promotion in flight at a time
    state.pending?.();
    promoter.stop();
    expect(clock.pendingTimers()).toBe(0);
  });

  it('never promotes as a follower or a silent learner, and waits again after a refusal', async () => {
    const { clock, state, promoter } = setup();
    state.progress.set(7n, { match: 5000, recentActive: false });
    promoter.start();
    clock.advance(3000);
    expect(state.promoted).toEqual([]);
    state.progress.set(7n, { match: 5000, recentActive: true });
    state.leader = false;
    clock.advance(3000);
    expect(state.promoted).toEqual([]);
    state.leader = true;
    state.refuse = true;
    clock.advance(1100);
    expect(state.promoted).toEqual([7n]);
    await settle();
    clock.advance(900);
    expect(state.promoted).toEqual([7n]); // a refusal restarts the full wait
    clock.advance(300);
    expect(state.promoted).toEqual([7n, 7n]);
    promoter.stop();
  });
});
