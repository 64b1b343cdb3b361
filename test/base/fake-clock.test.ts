// FakeClock drives every timer-based test, so its ordering guarantees are tested directly.
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/base/clock.js';
import { sleep } from '../../src/base/abort.js';

describe('FakeClock', () => {
  it('fires timers in deadline order, each seeing its own deadline as now', () => {
    const clock = new FakeClock(100);
    const seen: Array<[string, number]> = [];
    clock.setTimer(30, () => seen.push(['b', clock.nowMs()]));
    clock.setTimer(10, () => seen.push(['a', clock.nowMs()]));
    const cancel = clock.setTimer(20, () => seen.push(['cancelled', clock.nowMs()]));
    cancel();
    clock.advance(25);
    expect(seen).toEqual([['a', 110]]);
    clock.advance(5);
    expect(seen).toEqual([['a', 110], ['b', 130]]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('lets sleep be aborted, removing its timer', async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    const pending = sleep(clock, 1_000, controller.signal);
    controller.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
    expect(clock.pendingTimers()).toBe(0);
  });
});
