import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'sniffer/**/*.test.ts',
      'mapper/**/*.test.ts',
      'web/**/*.test.ts',
      'test/**/*.test.ts',
      'deploy/**/*.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Lab and browser tests create network namespaces and processes; keep parallelism modest on 2 cores.
    maxWorkers: 2,
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
