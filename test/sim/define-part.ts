/**
 * One half of the seeded Raft simulation as a vitest suite (the seeds are split in two files
 * so vitest runs both halves in parallel): every seed must finish with no safety violation and
 * pass the liveness check after healing. A failure names its seed; replay it with
 * `npm run sim -- --seed S --trace`.
 */
import { describe, expect, it } from 'vitest';
import { describeFailure, describeSummary, runSeeds } from './run-seeds.js';
import { seedShare } from './seeds.js';

export function defineSimulationPart(part: 0 | 1): void {
  describe('raft simulation', () => {
    const { from, count } = seedShare(part);
    it(`seeds ${from}..${from + count - 1} keep every invariant`, () => {
      const summary = runSeeds(from, count);
      console.log(describeSummary(summary));
      expect(summary.failures.map(describeFailure)).toEqual([]);
      expect(summary.seeds).toBe(count);
      // The faults really happened (a simulation that injects nothing proves nothing).
      expect(summary.crashes).toBeGreaterThan(count / 4);
      expect(summary.confChanges).toBeGreaterThan(count / 4);
      expect(summary.autoPromotions).toBeGreaterThan(count / 100);
      expect(summary.messagesDropped).toBeGreaterThan(summary.messagesSent / 100);
      expect(summary.readsChecked).toBeGreaterThan(count);
    }, 600_000);
  });
}
