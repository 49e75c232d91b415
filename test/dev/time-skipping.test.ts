import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveTemporalTestServer, TEST_SERVER_POM } from '../../src/dev/temporal-test-server.js';
import { startTimeSkippingEnvironment } from '../support/time-skipping.js';
import { sleepForDays } from '../workflows/fixtures/long-sleep.workflow.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const FIXTURE_WORKFLOWS = fileURLToPath(new URL('../workflows/fixtures/long-sleep.workflow.ts', import.meta.url));

describe('the time-skipping test environment', () => {
  let env: TestWorkflowEnvironment;
  // The first run on a machine builds the test server with Maven.
  beforeAll(async () => {
    env = await startTimeSkippingEnvironment();
  }, 600_000);
  afterAll(async () => {
    await env?.teardown();
  });

  it('runs a workflow that sleeps 3 days to completion, the clock moving 3 days ahead', async () => {
    const taskQueue = `time-skipping-${process.pid}`;
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath: FIXTURE_WORKFLOWS });
    const before = await env.currentTimeMs();

    const report = await worker.runUntil(
      env.client.workflow.execute(sleepForDays, { args: [3], taskQueue, workflowId: `sleep-3-days-${Date.now()}` }),
    );

    expect(report.wokeAt - report.startedAt).toBeGreaterThanOrEqual(3 * DAY_MS);
    expect((await env.currentTimeMs()) - before).toBeGreaterThanOrEqual(3 * DAY_MS);
  }, 120_000);
});

describe('obtaining the time-skipping test server', () => {
  it('builds it once into the per-user cache, outside the repository, and reuses it', async () => {
    const cacheHome = await mkdtemp(join(tmpdir(), 'customer-lifecycle-cache-'));
    const messages: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void messages.push((JSON.parse(line) as { msg: string }).msg) });
    try {
      const env = { ...process.env, XDG_CACHE_HOME: cacheHome, TEMPORAL_TEST_SERVER_PATH: '' };
      const built = await resolveTemporalTestServer(logger, env);
      expect(built).toEqual({ type: 'existing-path', path: expect.stringContaining(cacheHome) });
      expect(messages.some((message) => message.startsWith('building the Temporal test server'))).toBe(true);

      messages.length = 0;
      expect(await resolveTemporalTestServer(logger, env)).toEqual(built);
      expect(messages).toEqual([]);

      expect(await readdir(dirname(TEST_SERVER_POM)), 'Maven wrote nothing next to the pom in the repository').toEqual(['pom.xml']);
    } finally {
      await rm(cacheHome, { recursive: true, force: true });
    }
  }, 600_000);
});
