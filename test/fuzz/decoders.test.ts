// Decoder fuzzing with fast-check: every decoder of bytes from outside the process (peer port,
// client port protobufs, WAL, snapshot files) is fed random bytes and damaged valid inputs
// (truncated, bit-flipped, overwritten, spliced, extended, lengths blown up). Each must
// return or throw a clear error (see isClearError), never crash, and never hand back more
// than its stated limit. FUZZ_RUNS sets the inputs per target and kind (default 1,500 here:
// 16 targets x 2 kinds x 1,500 = 48,000 inputs in CI); `FUZZ_RUNS=32000 npx vitest run
// test/fuzz/decoders.test.ts` runs > 1,000,000.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TARGETS, isClearError, mutate } from './decoders.js';
import type { FuzzTarget } from './decoders.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 1500);
let total = 0;

function feed(target: FuzzTarget, bytes: Uint8Array): void {
  total += 1;
  try {
    const size = target.decode(bytes);
    if (target.limit !== undefined && typeof size === 'number') expect(size).toBeLessThanOrEqual(target.limit(bytes.byteLength));
  } catch (error) {
    if (!isClearError(error)) throw new Error(`${target.name}: crashed on ${Buffer.from(bytes).toString('hex').slice(0, 400)}: ${(error as Error).stack ?? String(error)}`);
  }
}

describe('decoder fuzzing', () => {
  for (const target of TARGETS) {
    it(`${target.name}: the valid seed decodes`, () => {
      expect(() => target.decode(target.valid)).not.toThrow();
    });

    it(`${target.name}: random bytes and damaged valid inputs give a clear error or a value, never a crash`, () => {
      fc.assert(fc.property(fc.uint8Array({ maxLength: 4096 }), (bytes) => feed(target, bytes)), { numRuns: RUNS, seed: 15 });
      fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 64 }), fc.nat(), (seed, kind) => feed(target, mutate(target.valid, seed, kind))), { numRuns: RUNS, seed: 16 });
    }, 600_000);
  }

  it('counted every input', () => {
    // Runs last in this file (tests of a file run in order).
    expect(total).toBeGreaterThanOrEqual(TARGETS.length * 2 * RUNS);
    console.log(`decoder fuzzing: ${total} generated inputs across ${TARGETS.length} decoders, 0 crashes`);
  });
});
