// Periodic auto-compaction on a fake clock: the leader compacts to the
// revision it saw one retention ago, followers never compact.
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/base/clock.js';
import { AutoCompactor } from '../../src/server/auto-compactor.js';

describe('AutoCompactor', () => {
  it('compacts, on the leader only, to the revision sampled one retention ago', async () => {
    const clock = new FakeClock();
    let revision = 1;
    let leader = true;
    const compactions: number[] = [];
    const compactor = new AutoCompactor({ isLeader: () => leader, currentRevision: () => revision, compact: async (r) => void compactions.push(r) }, clock, 1000);
    compactor.start(); // samples revision 1 at t=0
    for (let t = 0; t < 10; t++) {
      revision += 10;
      clock.advance(100);
    }
    // At t=1000 the sample from t=0 (revision 1) is one retention old.
    expect(compactions).toEqual([1]);
    leader = false;
    revision += 10;
    clock.advance(100);
    expect(compactions).toEqual([1]);
    leader = true;
    clock.advance(100);
    // The newest sample at least one retention old is taken at t=200 (revision 21).
    expect(compactions).toEqual([1, 21]);
    compactor.stop();
    expect(clock.pendingTimers()).toBe(0);
  });
});
