import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // forks, not threads: suites spawn tools and the live tests create network namespaces
    // (each under a unique name prefix, so files can still run in parallel)
    pool: 'forks',
  },
});
