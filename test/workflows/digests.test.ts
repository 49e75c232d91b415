import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { WORKFLOW_TYPES, type LtvRollupInput, type LtvRollupResult } from '../../workflows/definitions.js';
import { ltvRollupSettings } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createMailer } from '../../src/messaging/mailer.js';
import type { Running } from '../../src/runtime.js';
import { createServices } from '../../src/services.js';
import { freshDatabase, type FreshDatabase } from '../support/database.js';
import { eventually, runActivitiesWorker, startTestApi, type TestApi } from '../support/harness.js';
import { sleep } from '../support/messaging.js';
import { startSmtpStandIn, type SmtpStandIn } from '../support/smtp-standin.js';

// The nightly digests on a database of their own (the nightly rollup covers every merchant), with
// an SMTP server that refuses one address for good and falls silent for another, a worker on its
// own queue.
describe('nightly digests: one message per merchant, environment and date, each sent or failed on its own', () => {
  const taskQueue = `digests-${process.pid}`;
  let smtp: SmtpStandIn;
  let database: FreshDatabase;
  let api: TestApi;
  let worker: Running;
  let services: ReturnType<typeof createServices>;

  beforeAll(async () => {
    smtp = await startSmtpStandIn();
    database = await freshDatabase();
    api = await startTestApi({ DATABASE_URL: database.url, TEMPORAL_TASK_QUEUE: taskQueue });
    services = createServices({
      db: api.runtime.db,
      pool: api.runtime.pool,
      temporal: api.runtime.temporal,
      config: api.config,
      logger: createLogger('error', 'digests'),
      mailer: createMailer({ smtpUrl: smtp.url, from: api.config.MAIL_FROM, socketTimeoutMs: 1_000 }),
    });
    worker = await runActivitiesWorker(api, taskQueue, createActivities(services));
  });
  afterAll(async () => {
    await worker?.stop();
    services?.mailer.close();
    await api?.stop();
    await database?.drop();
    await smtp?.close();
  });

  /** A merchant with one paying customer in each given environment and a notification address there. */
  async function merchantNotifiedAt(name: string, addresses: { sandbox?: string; live?: string }) {
    const merchant = await api.merchant(name);
    for (const [environment, to] of Object.entries(addresses)) {
      const key = environment === 'live' ? merchant.liveKey : merchant.sandboxKey;
      await api.request('PATCH', '/v1/settings', { key, body: { notification_email: to, name: `${name} ${environment}` } });
      const { body: customer } = await api.request('POST', '/v1/customers', { key, body: { name: `${name} buyer` } });
      await api.request('POST', '/v1/payments', { key, body: { customer_id: customer.id, amount: 2500, currency: 'EUR', status: 'succeeded' } });
    }
    return merchant;
  }

  /** The nightly rollup of every merchant with its digests, as the schedule runs it. */
  async function nightlyRollup(): Promise<LtvRollupResult> {
    const input: LtvRollupInput = { ...ltvRollupSettings(api.config), digest: true };
    return api.runtime.temporal.workflow.execute(WORKFLOW_TYPES.ltvRollup, { taskQueue, workflowId: `ltv-rollup-${randomUUID()}`, args: [input] });
  }

  const digests = () => api.runtime.db.message.findMany({ where: { kind: 'digest' }, orderBy: [{ merchantId: 'asc' }, { environment: 'asc' }] });

  it("a refused and a silent address stop no other merchant's digest; a repeated run sends none twice", async () => {
    const refused = `rejected-${randomUUID().slice(0, 8)}@digest.test`;
    const silent = `silent-${randomUUID().slice(0, 8)}@digest.test`;
    const sandboxOps = `ops-${randomUUID().slice(0, 8)}@digest.test`;
    const liveOps = `live-ops-${randomUUID().slice(0, 8)}@digest.test`;
    // Created in this order, so in merchant-id order the refused and silent addresses come first.
    const first = await merchantNotifiedAt('Refused', { sandbox: refused });
    const second = await merchantNotifiedAt('Silent', { sandbox: silent });
    const third = await merchantNotifiedAt('Reached', { sandbox: sandboxOps, live: liveOps });
    expect([first.merchantId, second.merchantId].every((id) => id < third.merchantId)).toBe(true);

    const { rollupId } = await nightlyRollup();
    // The rollup's day in the merchants' time zone (UTC, the default).
    const date = (await api.runtime.db.statsRollup.findUniqueOrThrow({ where: { id: rollupId } })).createdAt.toISOString().slice(0, 10);
    const settled = await eventually(async () => {
      const rows = await digests();
      return rows.length === 4 && rows.every((row) => !['queued', 'sending'].includes(row.status)) ? rows : undefined;
    }, 30_000, 'four settled digests');
    expect(settled.map((row) => [row.merchantId, row.environment, row.status, row.recipient, row.idempotencyKey])).toEqual([
      [first.merchantId, 'sandbox', 'failed', refused, `ltv-digest:${first.merchantId}:sandbox:${date}`],
      [second.merchantId, 'sandbox', 'unknown', silent, `ltv-digest:${second.merchantId}:sandbox:${date}`],
      [third.merchantId, 'sandbox', 'sent', sandboxOps, `ltv-digest:${third.merchantId}:sandbox:${date}`],
      [third.merchantId, 'live', 'sent', liveOps, `ltv-digest:${third.merchantId}:live:${date}`],
    ]);
    expect(settled[0]!.error).toMatch(/550/);
    expect(settled.every((row) => row.data && (row.data as { rollup_id: string }).rollup_id === rollupId)).toBe(true);
    // Each environment's digest to its own address, with its own name and figures.
    expect(smtp.log(sandboxOps).accepted).toHaveLength(1);
    expect(smtp.log(sandboxOps).accepted[0]).toMatch(/Subject: \[sandbox\] Customer lifetime value, \d{4}-\d{2}-\d{2}: Reached sandbox/);
    expect(smtp.log(sandboxOps).accepted[0]).toContain('Sandbox: 1 customers, 1 with payments');
    expect(smtp.log(liveOps).accepted[0]).toMatch(/Subject: \[live\] Customer lifetime value, \d{4}-\d{2}-\d{2}: Reached live/);
    expect(smtp.log(liveOps).accepted[0]).toContain('Live: 1 customers, 1 with payments');

    // The step again (a retried activity), and another run the same day: nothing queued, nothing sent twice.
    expect(await services.messageQueue.queueDigests(rollupId)).toBe(0);
    await nightlyRollup();
    await sleep(2_000);
    expect(await digests()).toHaveLength(4);
    expect([smtp.log(refused).data, smtp.log(silent).data, smtp.log(sandboxOps).accepted.length, smtp.log(liveOps).accepted.length]).toEqual([0, 1, 1, 1]);
  }, 120_000);
});
