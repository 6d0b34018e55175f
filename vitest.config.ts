import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores, but most test time is spent waiting on child processes (servers, agents, git,
    // bubblewrap): a third file in flight keeps both cores busy without timing-sensitive tests.
    maxWorkers: 3,
  },
});
