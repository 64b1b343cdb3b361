import { defineConfig } from 'vitest/config';

// One config for the whole suite. Tests never assert wall-clock timings; the long-running
// suites (simulation, real processes) carry their own per-test timeouts.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most files wait on real processes, disks and sockets rather than the CPU: three at once
    // keep a 2-core box busy without starving the member processes they start.
    maxWorkers: 3,
    reporters: ['default'],
  },
});
