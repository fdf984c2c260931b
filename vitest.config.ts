import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // network-namespace tests share kernel state (names, links): run files one at a time
    // would be safest, but unit suites are independent; namespaced tests use unique names.
    pool: 'forks',
  },
});
