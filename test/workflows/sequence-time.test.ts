import { Context } from '@temporalio/activity';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { WORKFLOW_TYPES, workflowIds } from '../../workflows/definitions.js';
import type { Clock } from '../../src/lib/clock.js';
import { newId } from '../../src/lib/ids.js';
import { createLogger } from '../../src/logger.js';
import { localTime, nextSendTime, parseSendWindow } from '../../src/sequences/send-window.js';
import { createServices } from '../../src/services.js';
import { WORKFLOWS_PATH } from '../../src/temporal/temporal.js';
import { startTestApi, type TestApi } from '../support/harness.js';
import { address, emailStep, mailTo } from '../support/messaging.js';
import { startTimeSkippingEnvironment } from '../support/time-skipping.js';

const DAY = 86_400_000;

/**
 * Days-long delays and send windows on Temporal's time-skipping test server: the workflow's timers
 * jump ahead, and the step activity reads the time the server scheduled it at, so the service
 * judges "due" and "in the window" by the same skipped clock.
 */
describe('sequence timing over days, in the customer\'s time zone (time-skipping)', () => {
  let env: TestWorkflowEnvironment;
  let api: TestApi;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = `sequence-time-${process.pid}`;

  const serverClock: Clock = {
    now: () => {
      try {
        return new Date(Context.current().info.currentAttemptScheduledTimestampMs);
      } catch {
        // Outside an activity (the API's writes in this test): the real clock.
        return new Date();
      }
    },
  };

  beforeAll(async () => {
    env = await startTimeSkippingEnvironment();
    api = await startTestApi();
    const services = createServices({
      db: api.runtime.db,
      pool: api.runtime.pool,
      temporal: env.client,
      config: { ...api.config, TEMPORAL_TASK_QUEUE: taskQueue },
      logger: createLogger('error', 'sequence-time'),
      clock: serverClock,
    });
    worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath: WORKFLOWS_PATH, activities: createActivities(services) });
    running = worker.run();
  }, 600_000);
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await api?.stop();
    await env?.teardown();
  });

  /** A customer enrolled (by hand) at the test server's current time into a two-step sequence. */
  async function run(options: { merchantTimezone: string; customerTimezone: string | null; window: string; delay: string }) {
    const { sandboxKey: key, merchantId } = await api.merchant('Timing');
    await api.request('PATCH', '/v1/settings', { key, body: { timezone: options.merchantTimezone } });
    const { body: sequence } = await api.request('POST', '/v1/sequences', {
      key,
      body: { name: 'Timing', trigger_tag: 'unused', steps: [emailStep('Day 0'), emailStep('Later', options.delay, { send_window: options.window })] },
    });
    const email = address('timing');
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: { email, timezone: options.customerTimezone } });
    const enrollmentId = newId('enrollment');
    await api.runtime.db.sequenceEnrollment.create({
      data: {
        id: enrollmentId,
        merchantId,
        environment: 'sandbox',
        sequenceId: sequence.id,
        version: 1,
        customerId: customer.id,
        source: 'manual',
        status: 'active',
        enrolledAt: new Date(await env.currentTimeMs()),
      },
    });
    const handle = await env.client.workflow.start(WORKFLOW_TYPES.sequence, {
      taskQueue,
      workflowId: workflowIds.sequence(sequence.id, customer.id),
      args: [{ enrollmentId }],
    });
    expect(await handle.result()).toBe('completed');
    const messages = await api.runtime.db.message.findMany({ where: { customerId: customer.id }, orderBy: { step: 'asc' } });
    expect(messages.map((m) => m.status)).toEqual(['sent', 'sent']);
    expect((await mailTo(email)).map((m) => m.subject)).toEqual(['Day 0', 'Later']);
    return { first: messages[0]!.sentAt!, second: messages[1]!.sentAt! };
  }

  it('waits three days, then the first 09:00-10:00 opening in the customer\'s zone (not the merchant\'s)', async () => {
    const { first, second } = await run({ merchantTimezone: 'Asia/Tokyo', customerTimezone: 'America/New_York', window: '09:00-10:00', delay: '3d' });
    const expected = nextSendTime(new Date(first.getTime() + 3 * DAY), parseSendWindow('09:00-10:00')!, 'America/New_York');
    expect(second.getTime() - first.getTime()).toBeGreaterThanOrEqual(3 * DAY);
    expect(Math.abs(second.getTime() - expected.getTime())).toBeLessThan(60_000);
    expect(localTime(second.getTime(), 'America/New_York').hour).toBe(9);
  }, 120_000);

  it("uses the merchant's zone for a customer without one", async () => {
    const { first, second } = await run({ merchantTimezone: 'Asia/Tokyo', customerTimezone: null, window: '09:00-10:00', delay: '2d' });
    const expected = nextSendTime(new Date(first.getTime() + 2 * DAY), parseSendWindow('09:00-10:00')!, 'Asia/Tokyo');
    expect(Math.abs(second.getTime() - expected.getTime())).toBeLessThan(60_000);
    expect(localTime(second.getTime(), 'Asia/Tokyo').hour).toBe(9);
  }, 120_000);

  it('keeps the local hour across a DST change inside the delay', async () => {
    // Skip ahead to three days before New York next springs forward (02:00 EST -> 03:00 EDT).
    const now = await env.currentTimeMs();
    const offset = (at: number) => {
      const local = localTime(at, 'America/New_York');
      return Date.UTC(local.year, local.month - 1, local.day, local.hour) - Math.floor(at / 3_600_000) * 3_600_000;
    };
    let springForward = Math.ceil(now / 3_600_000) * 3_600_000 + 4 * DAY;
    while (!(offset(springForward) > offset(springForward - 3_600_000))) springForward += 3_600_000;
    await env.sleep(springForward - 3 * DAY - now);
    const { first, second } = await run({ merchantTimezone: 'UTC', customerTimezone: 'America/New_York', window: '09:00-09:30', delay: '4d' });
    expect(first.getTime()).toBeLessThan(springForward);
    expect(second.getTime()).toBeGreaterThan(springForward);
    // 09:00 EDT (UTC-4) after the change: the hour on the wall is kept, not the offset.
    expect(localTime(second.getTime(), 'America/New_York')).toMatchObject({ hour: 9 });
    expect(second.getUTCHours()).toBe(13);
    // It was EST (UTC-5) at the first step.
    expect((localTime(first.getTime(), 'America/New_York').hour - first.getUTCHours() + 24) % 24).toBe(19);
  }, 120_000);
});
