// The fault-injection pieces of conclave/testing on their own, driven by a FakeClock (no
// real time): the pausable clock holds timers while paused and runs them on resume in the
// order they came due; the fault network's filter cuts partition groups both ways, drops
// everything to and from a paused member, and heals.
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/base/clock.js';
import { FaultNetwork } from '../../src/testing/fault-network.js';
import { PausableClock } from '../../src/testing/pausable-clock.js';

describe('PausableClock', () => {
  it('holds timers that come due while paused and runs them, in order, on resume', () => {
    const base = new FakeClock();
    const clock = new PausableClock(base);
    const fired: string[] = [];
    clock.setTimer(10, () => fired.push('a'));
    clock.setTimer(30, () => fired.push('b'));
    const cancelC = clock.setTimer(20, () => fired.push('c'));
    clock.pause();
    base.advance(40);
    expect(fired).toEqual([]);
    expect(clock.nowMs()).toBe(40); // time moves on while paused
    cancelC();
    clock.resume();
    expect(fired).toEqual(['a', 'b']);
    clock.setTimer(5, () => fired.push('d'));
    base.advance(5);
    expect(fired).toEqual(['a', 'b', 'd']);
    expect(clock.isPaused).toBe(false);
  });
});

describe('FaultNetwork', () => {
  it('cuts between partition groups both ways, pauses members, and heals', () => {
    const network = new FaultNetwork();
    const [a, b, c] = [1n, 2n, 3n];
    expect(network.filter(a, b)).toBe(true);
    network.partition([[a], [b, c]]);
    expect([network.filter(a, b), network.filter(b, a), network.filter(a, c), network.filter(c, a)]).toEqual([false, false, false, false]);
    expect([network.filter(b, c), network.filter(c, b)]).toEqual([true, true]);
    network.heal();
    expect(network.filter(a, b)).toBe(true);
    network.setPaused(c, true);
    expect([network.filter(c, a), network.filter(b, c), network.filter(a, b)]).toEqual([false, false, true]);
    network.heal(); // healing does not resume a paused member
    expect(network.filter(a, c)).toBe(false);
    network.setPaused(c, false);
    expect(network.filter(a, c)).toBe(true);
    expect(() => network.partition([[a, b], [b]])).toThrow(/two groups/);
  });
});
