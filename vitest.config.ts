import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    // One real Postgres, Temporal dev server, mail catcher and worker for the whole run.
    globalSetup: ['test/support/global-setup.ts'],
    // Processes, not threads: the Temporal native module misbehaves in worker threads.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
