import { defineConfig } from 'vitest/config';

// One config for the whole suite. Tests never assert wall-clock timings; the long-running
// suites (simulation, real processes) carry their own per-test timeouts.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
