// SeededRandom must replay exactly from a seed (the simulator depends on it) and spread
// evenly enough that a simulated fault schedule is not biased toward small values.
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/base/random.js';

describe('SeededRandom', () => {
  it('replays the same stream for the same seed and differs across seeds', () => {
    const draw = (seed: number) => {
      const random = new SeededRandom(seed);
      return Array.from({ length: 20 }, () => random.int(1_000_000));
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    expect(draw(2 ** 40)).not.toEqual(draw(0));
  });

  it('draws every value of a small range about equally often', () => {
    const random = new SeededRandom(1);
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[random.int(6)]! += 1;
    for (const count of counts) {
      expect(count).toBeGreaterThan(9_500);
      expect(count).toBeLessThan(10_500);
    }
  });

  it('rejects a range it cannot draw from', () => {
    const random = new SeededRandom(1);
    expect(() => random.int(0)).toThrow(RangeError);
    expect(() => random.int(1.5)).toThrow(RangeError);
  });
});
