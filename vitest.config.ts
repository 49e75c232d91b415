import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    // One real Postgres, Temporal dev server, mail catcher and worker for the whole run.
    globalSetup: ['test/support/global-setup.ts'],
    // Processes, not threads: the Temporal native module misbehaves in worker threads.
    pool: 'forks',
    // Generous: tests that start roles as child processes run long on a busy machine.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
