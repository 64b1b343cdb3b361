/**
 * How many seeds the test suite runs: SIM_SEEDS (default 2000), split between the two
 * simulation test files so that vitest runs them on both cores.
 */
export function seedShare(part: 0 | 1): { from: number; count: number } {
  const total = Number(process.env.SIM_SEEDS ?? 2000);
  if (!Number.isSafeInteger(total) || total < 2) throw new Error(`SIM_SEEDS must be an integer >= 2, got ${process.env.SIM_SEEDS}`);
  const first = Math.floor(total / 2);
  return part === 0 ? { from: 1, count: first } : { from: 1 + first, count: total - first };
}
