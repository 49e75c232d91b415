import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { createMessageSteps } from '../../activities/message.activities.js';
import { workflowIds } from '../../workflows/definitions.js';
import { createLogger } from '../../src/logger.js';
import { createMailer } from '../../src/messaging/mailer.js';
import type { Running } from '../../src/runtime.js';
import { newId } from '../../src/lib/ids.js';
import { createServices, type ServiceDeps } from '../../src/services.js';
import { eventually, runActivitiesWorker, startTestApi, type TestApi } from '../support/harness.js';
import { address, emailStep, mailTo, phone, smsStep, smsTo } from '../support/messaging.js';
import { startSmtpStandIn, type SmtpStandIn } from '../support/smtp-standin.js';

const DAY = 86_400_000;
const CRASHING_WORKER = fileURLToPath(new URL('../support/crashing-worker.ts', import.meta.url));

/** Enrols a customer by hand into a new sequence of the given steps; returns what a test needs to follow it. */
async function enrolled(api: TestApi, steps: unknown[], profile: Record<string, unknown>) {
  const { sandboxKey: key } = await api.merchant('Delivery');
  const { body: sequence } = await api.request('POST', '/v1/sequences', { key, body: { name: 'Delivery', trigger_tag: 'unused', steps } });
  const { body: customer } = await api.request('POST', '/v1/customers', { key, body: profile });
  const enrol = () => api.request('POST', `/v1/sequences/${sequence.id}/enrollments`, { key, body: { customer_id: customer.id } });
  const result = async () => {
    const handle = api.runtime.temporal.workflow.getHandle(workflowIds.sequence(sequence.id, customer.id));
    await eventually(() => handle.describe().then(() => true), 30_000, 'the sequence run');
    return handle.result();
  };
  const messages = () => api.runtime.db.message.findMany({ where: { customerId: customer.id }, orderBy: { step: 'asc' } });
  return { enrol, result, messages };
}

describe('never twice: a worker killed right after a send', () => {
  const taskQueue = `crash-${process.pid}`;
  let api: TestApi;
  let healthy: Running | undefined;

  beforeAll(async () => {
    api = await startTestApi({ TEMPORAL_TASK_QUEUE: taskQueue });
  });
  afterAll(async () => {
    await healthy?.stop();
    await api.stop();
  });

  it('the retry on another worker finds the message sending, records it unknown and does not send it again', async () => {
    const email = address('crash');
    const run = await enrolled(api, [emailStep('Crash one'), emailStep('Crash two', '1s')], { email });
    const child = fork(CRASHING_WORKER, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, ...inject('testEnv'), NODE_ENV: 'test', TEMPORAL_TASK_QUEUE: taskQueue, LOG_LEVEL: 'error' },
      stdio: 'inherit',
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', () => reject(new Error('the crashing worker exited before it was ready')));
    });
    expect((await run.enrol()).status).toBe(201);

    expect(await exited).toBe('SIGKILL');
    expect((await mailTo(email)).map((m) => m.subject)).toEqual(['Crash one']);
    expect((await run.messages()).map((m) => [m.step, m.status])).toEqual([[0, 'sending']]);

    // Another worker takes over once the dead one's activity misses its heartbeat.
    healthy = await runActivitiesWorker(api, taskQueue, createActivities(api.runtime.services));
    expect(await run.result()).toBe('completed');
    expect((await mailTo(email)).map((m) => m.subject)).toEqual(['Crash one', 'Crash two']);
    const [first, second] = await run.messages();
    expect(first).toMatchObject({ status: 'unknown', attempts: 1 });
    expect(first!.error).toMatch(/interrupted .* not sent again so it cannot arrive twice/);
    expect(second).toMatchObject({ status: 'sent', attempts: 1 });
  }, 120_000);
});

describe('SMTP servers that refuse, defer or fall silent', () => {
  const taskQueue = `smtp-behaviours-${process.pid}`;
  let smtp: SmtpStandIn;
  let api: TestApi;
  let worker: Running;

  /** Per recipient: DATA commands received, messages accepted. */
  const stats = (to: string) => {
    const { data, accepted } = smtp.log(to);
    return { data, accepted: accepted.length };
  };
  let serviceDeps: ServiceDeps;
  let services: ReturnType<typeof createServices>;

  beforeAll(async () => {
    smtp = await startSmtpStandIn();
    api = await startTestApi({ TEMPORAL_TASK_QUEUE: taskQueue, MESSAGE_RETRY_SCHEDULE: '0s,0s' });
    serviceDeps = {
      db: api.runtime.db,
      pool: api.runtime.pool,
      temporal: api.runtime.temporal,
      config: api.config,
      logger: createLogger('error', 'smtp-behaviours'),
      mailer: createMailer({ smtpUrl: smtp.url, from: api.config.MAIL_FROM, socketTimeoutMs: 1_000 }),
    };
    services = createServices(serviceDeps);
    worker = await runActivitiesWorker(api, taskQueue, createActivities(services));
  });
  afterAll(async () => {
    await worker?.stop();
    await api?.stop();
    await smtp?.close();
  });

  it('a 4xx reply (certainly not accepted) is retried, and the message is sent once', async () => {
    const email = address('deferred');
    const run = await enrolled(api, [emailStep('Deferred')], { email });
    await run.enrol();
    expect(await run.result()).toBe('completed');
    expect(stats(email)).toEqual({ data: 2, accepted: 1 });
    expect((await run.messages())[0]).toMatchObject({ status: 'sent', attempts: 2, error: null });
  });

  it('a 5xx reply is final: the message is failed with the reply, and the sequence goes on', async () => {
    const email = address('rejected');
    const number = phone();
    const run = await enrolled(api, [emailStep('Rejected'), smsStep('Next step')], { email, phone: number });
    await run.enrol();
    expect(await run.result()).toBe('completed');
    const [mail, text] = await run.messages();
    expect(mail).toMatchObject({ status: 'failed', attempts: 1 });
    expect(mail!.error).toMatch(/550/);
    expect(text).toMatchObject({ status: 'sent' });
    expect((await smsTo(number)).map((request) => request.form.Body)).toEqual(['Next step']);
  });

  it('silence after the data went out may mean accepted: the message is unknown and never sent again', async () => {
    const email = address('silent');
    const run = await enrolled(api, [emailStep('Silent'), emailStep('After silence')], { email });
    await run.enrol();
    expect(await run.result()).toBe('completed');
    const [silent] = await run.messages();
    expect(silent).toMatchObject({ status: 'unknown', attempts: 1 });
    expect(silent!.error).toMatch(/Timeout/i);
    expect(stats(email).data).toBe(2); // one DATA for each step: the silent one was not repeated
  });

  it('a notification refused at every attempt is retried on MESSAGE_RETRY_SCHEDULE, then failed, and not sent when the server takes mail again', async () => {
    const email = address('refused');
    const { merchantId } = await api.merchant('Refused');
    const { db } = api.runtime;
    await db.merchantSettings.update({ where: { merchantId_environment: { merchantId, environment: 'sandbox' } }, data: { notificationEmail: email } });
    const message = await db.message.create({
      data: {
        id: newId('message'),
        merchantId,
        environment: 'sandbox',
        kind: 'notification',
        channel: 'email',
        idempotencyKey: `notification:refused-test:${merchantId}`,
        data: { type: 'deletion_action_required', environment: 'sandbox', customer_id: 'cus_x', step: 'void_wallets', reason: 'test' },
        // Due tomorrow, and driven here on tomorrow's clock: the suite's worker (whose reconciler
        // sends overdue messages) never sees it due.
        nextAttemptAt: new Date(Date.now() + DAY),
      },
    });
    // MESSAGE_RETRY_SCHEDULE=0s,0s: two retries, due at once, three attempts in all.
    const tomorrow = { now: () => new Date(Date.now() + DAY + 1000) };
    const refusedQueue = createMessageSteps(createServices({ ...serviceDeps, clock: tomorrow }));
    for (let attempt = 1; attempt <= 3; attempt++) await refusedQueue.sendDue(merchantId);
    const failed = await db.message.findUniqueOrThrow({ where: { id: message.id } });
    expect(failed).toMatchObject({ status: 'failed', attempts: 3 });
    expect(failed.error).toMatch(/gave up retrying: .*451/);
    expect(stats(email).data).toBe(0);

    smtp.refusing = false;
    expect((await refusedQueue.sendDue(merchantId)).sent).toBe(0);
    expect(stats(email)).toEqual({ data: 0, accepted: 0 });
    expect((await db.message.findUniqueOrThrow({ where: { id: message.id } })).status).toBe('failed');
  });
});
