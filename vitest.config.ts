import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // examples/testing shows belfry/testing in use: its tests are part of the suite.
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: the cluster tests spawn real replica processes, so files run a few at a time.
    maxWorkers: 2,
    teardownTimeout: 30_000,
  },
});
