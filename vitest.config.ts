import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig, type TestUserConfig } from 'vitest/config';

/**
 * Proofs whose time goes into waiting out the service's own timeouts, or into the build they
 * prove, so they cannot get cheaper without losing what they prove: `npm run test:long`
 * (vitest.long.config.ts) runs them, `npm test` does not. docs/testing.md says what each waits for.
 */
export const LONG_TESTS = [
  // Starts the API role three times and the worker role once, each a process of its own.
  'test/dev/shutdown.test.ts',
  // A SIGKILLed worker's activity is retried only after its heartbeat timeout (10 s), on a second
  // worker process started with tsx.
  'test/workflows/deletion-worker-kill.test.ts',
  'test/workflows/ltv-rollup-worker-kill.test.ts',
  // The same after a worker killed right after a send (the step's heartbeat timeout: 20 s); the
  // file's SMTP stand-in tests come with it.
  'test/workflows/sequence-delivery.test.ts',
  // Builds the Temporal test server with Maven into an empty cache, to prove the per-user cache.
  'test/dev/time-skipping.test.ts',
];

/** What both suites share: the components, the pool, the timeouts and the end-of-run summary. */
export const suite: TestUserConfig = {
  reporters: ['default', './test/support/summary-reporter.ts'],
  // One real Postgres, Temporal dev server, mail catcher and worker for the whole run.
  globalSetup: ['test/support/global-setup.ts'],
  // Processes, not threads: the Temporal native module misbehaves in worker threads.
  pool: 'forks',
  // Two files at a time even on 2 cores (vitest's default is one fewer than the cores): most of
  // a file's time is spent waiting on the shared stack (timers, the worker, SMTP), not on CPU.
  maxWorkers: Math.max(2, availableParallelism() - 1),
  // Generous: tests that start roles as child processes run long on a busy machine.
  testTimeout: 120_000,
  hookTimeout: 120_000,
};

export default defineConfig({
  test: {
    ...suite,
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, ...LONG_TESTS],
  },
});
