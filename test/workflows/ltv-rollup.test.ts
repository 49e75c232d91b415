import { randomUUID } from 'node:crypto';
import { ScheduleOverlapPolicy, type WorkflowHandle } from '@temporalio/client';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LTV_ROLLUP_SCHEDULE_ID, WORKFLOW_TYPES, type LtvRollupResult } from '../../workflows/definitions.js';
import { createLogger } from '../../src/logger.js';
import type { Scope } from '../../src/lib/scope.js';
import { startWorker } from '../../src/runtime.js';
import { ensureSchedules, serviceSchedules } from '../../src/temporal/schedules.js';
import { eventually, startTestApi, testConfig, type TestApi } from '../support/harness.js';
import { insertScenario, scenarioArbitrary } from '../support/ltv-data.js';
import { expectedStats, storedStats } from '../support/ltv-oracle.js';

describe('LTV rollup: set-based batches on the real worker, on demand and on the nightly schedule', () => {
  let api: TestApi;

  beforeAll(async () => {
    // Tiny batches, so a dozen customers already take several waves, chunks and continue-as-new.
    api = await startTestApi({ LTV_ROLLUP_BATCH_SIZE: '3', LTV_ROLLUP_CONCURRENCY: '2', LTV_ROLLUP_CHUNK_SIZE: '2' });
  });
  afterAll(() => api.stop());

  /** A rollup of one merchant as POST /v1/analytics/rollups starts it, awaited to the end. */
  async function rollUp(scope: Scope) {
    const started = await api.runtime.services.stats.startRollup(scope);
    const result: LtvRollupResult = await api.runtime.temporal.workflow.getHandle(started.workflow_id).result();
    return { started, result };
  }

  /** A new merchant's sandbox, and its key. */
  async function newMerchant(name: string): Promise<{ scope: Scope; key: string }> {
    const { merchantId, sandboxKey } = await api.merchant(name);
    return { scope: { merchantId, environment: 'sandbox' }, key: sandboxKey };
  }

  it('writes what an independent computation gives over random data, by rollup and by the subscriber', async () => {
    const { db } = api.runtime;
    await fc.assert(
      fc.asyncProperty(scenarioArbitrary({ customers: 10, payments: 30, subscriptions: 8 }), async (scenario) => {
        const { scope } = await newMerchant('LTV property');
        const data = await insertScenario(db, scope, scenario);
        const expected = expectedStats(data.liveCustomerIds, data.payments, data.subscriptions, data.invoices);

        const { started, result } = await rollUp(scope);
        expect(await storedStats(db, scope.merchantId)).toEqual(expected);
        expect(result).toEqual({ rollupId: started.id, customersDone: data.liveCustomerIds.length });

        // The stats subscriber's refresh, from nothing, arrives at the same rows.
        await db.customerStats.deleteMany({ where: { merchantId: scope.merchantId } });
        await db.$transaction((tx) => api.runtime.services.stores.stats.refresh(tx, { ids: data.customerIds }));
        expect(await storedStats(db, scope.merchantId)).toEqual(expected);
      }),
      { numRuns: 20 },
    );
  }, 240_000);

  it('repairs stats tampered with in the database; re-running changes no number; runs continue as new', async () => {
    const { db } = api.runtime;
    const { scope, key } = await newMerchant('LTV tamper');
    const [scenario] = fc.sample(
      scenarioArbitrary({ customers: 12, payments: 40, subscriptions: 10, min: { customers: 9, payments: 20 } }),
      { seed: 3, numRuns: 1 },
    );
    const data = await insertScenario(db, scope, scenario!);
    const expected = expectedStats(data.liveCustomerIds, data.payments, data.subscriptions, data.invoices);

    await rollUp(scope);
    expect(await storedStats(db, scope.merchantId)).toEqual(expected);
    const firstComputed = await db.customerStats.findMany({ where: { merchantId: scope.merchantId }, orderBy: { customerId: 'asc' } });

    const again = await rollUp(scope);
    expect(await storedStats(db, scope.merchantId)).toEqual(expected);
    const secondComputed = await db.customerStats.findMany({ where: { merchantId: scope.merchantId }, orderBy: { customerId: 'asc' } });
    secondComputed.forEach((row, index) => expect(row.computedAt.getTime()).toBeGreaterThan(firstComputed[index]!.computedAt.getTime()));
    // Nine customers in waves of 2 x 3: the first run handed over to a new one.
    const firstRun = await api.runtime.temporal.workflow.getHandle(again.started.workflow_id, again.started.run_id!).describe();
    expect(firstRun.status.name).toBe('CONTINUED_AS_NEW');

    const [victim, other] = expected;
    const deleted = data.customerIds.find((id) => !data.liveCustomerIds.includes(id));
    await db.customerStats.update({
      where: { customerId_currency: { customerId: victim!.customerId, currency: victim!.currency } },
      data: { totalSpent: 1n, paymentCount: 99, subscriptionStatus: 'active', mrr: 7n, invoiceCount: 42 },
    });
    await db.customerStats.delete({ where: { customerId_currency: { customerId: other!.customerId, currency: other!.currency } } });
    const bogus = (customerId: string, currency: string) => ({
      customerId,
      currency,
      ...scope,
      totalSpent: 500n,
      paymentCount: 1,
      averagePayment: 500n,
      mrr: 0n,
      activeSubscriptions: 0,
      subscriptionStatus: 'none' as const,
      computedAt: new Date(Date.now() - 60_000),
    });
    await db.customerStats.createMany({
      data: [bogus(data.liveCustomerIds[0]!, 'GBP'), ...(deleted ? [bogus(deleted, 'USD')] : [])],
    });
    expect(await storedStats(db, scope.merchantId)).not.toEqual(expected);

    const repair = await rollUp(scope);
    expect(await storedStats(db, scope.merchantId)).toEqual(expected);
    const progress = await api.request('GET', `/v1/analytics/rollups/${repair.started.id}`, { key });
    expect(progress.body).toMatchObject({
      status: 'completed',
      customers_done: data.liveCustomerIds.length,
      customers_total: data.liveCustomerIds.length,
    });
  }, 60_000);

  it('keeps the nightly ltv-rollup schedule in place at worker start; a trigger rolls up every merchant and emails digests', async () => {
    const { db, temporal } = api.runtime;
    const queue = `ltv-schedule-${randomUUID()}`;
    const config = testConfig({ TEMPORAL_TASK_QUEUE: queue });
    const logger = createLogger('warn', 'ltv-schedule-test');
    const { scope } = await newMerchant('Nightly digest');
    const email = `owner-${randomUUID().slice(0, 8)}@digest.test`;
    await db.merchantSettings.update({ where: { merchantId_environment: scope }, data: { notificationEmail: email, name: 'Nightly digest' } });
    const [scenario] = fc.sample(
      scenarioArbitrary({ customers: 6, payments: 20, subscriptions: 4, min: { customers: 3, payments: 15 } }).filter(
        (candidate) =>
          candidate.customers.every((customer) => !customer.deleted) &&
          candidate.payments.some((payment) => payment.status === 'succeeded' && payment.currency === 'EUR'),
      ),
      { seed: 99, numRuns: 1 },
    );
    const data = await insertScenario(db, scope, scenario!);
    const expected = expectedStats(data.liveCustomerIds, data.payments, data.subscriptions, data.invoices);

    const worker = await startWorker(api.runtime, config, logger);
    try {
      const schedule = temporal.schedule.getHandle(LTV_ROLLUP_SCHEDULE_ID);
      const description = await schedule.describe();
      expect(description.spec.timezone).toBe('UTC');
      expect(description.spec.calendars).toEqual([
        expect.objectContaining({ hour: [{ start: 2, end: 2, step: 1 }], minute: [{ start: 0, end: 0, step: 1 }] }),
      ]);
      expect(description.policies).toMatchObject({ overlap: 'SKIP', catchupWindow: 86_400_000 });
      expect(description.action).toMatchObject({ workflowType: WORKFLOW_TYPES.ltvRollup, taskQueue: queue });

      const handle = await triggerOnQueue(queue, async () => ensureSchedules(temporal, queue, serviceSchedules(config), logger));
      const result: LtvRollupResult = await handle.result();
      expect(await storedStats(db, scope.merchantId)).toEqual(expected);
      const rollup = await db.statsRollup.findUniqueOrThrow({ where: { id: result.rollupId } });
      expect(rollup).toMatchObject({ merchantId: null, environment: null, status: 'completed', workflowId: handle.workflowId });
      expect(result.customersDone).toBeGreaterThanOrEqual(data.liveCustomerIds.length);

      const digest = await eventually(async () => {
        const messages = (await (await fetch(`${inject('testEnv').MAIL_UI_URL}/api/email`)).json()) as MailMessage[];
        return messages.find((message) => message.to.some((to) => to.address === email));
      }, 15_000, 'the digest email');
      expect(digest.subject).toContain('Nightly digest');
      // The top EUR customer: highest total, ties to the newest id, as the analytics list orders them.
      const [topEuro] = expected
        .filter((row) => row.currency === 'EUR')
        .sort((a, b) => (a.totalSpent === b.totalSpent ? b.customerId.localeCompare(a.customerId) : Number(b.totalSpent - a.totalSpent)));
      expect(digest.text).toContain(`Sandbox: ${data.liveCustomerIds.length} customers`);
      expect(digest.text).toMatch(/EUR: \d+\.\d{2} spent in \d+ payments, MRR \d+\.\d{2}\. Top customers:/);
      expect(digest.text).toContain(`1. ${topEuro!.customerId}: `);
    } finally {
      await worker.stop();
    }
  }, 60_000);

  /**
   * Triggers the schedule and returns the run it started. Other test files start workers on task
   * queues of their own, and each worker start points the schedule at its queue: if a run lands
   * on another queue, the schedule is put back as a worker start of ours does, and triggered again.
   */
  async function triggerOnQueue(queue: string, repoint: () => Promise<void>): Promise<WorkflowHandle> {
    const { temporal } = api.runtime;
    const schedule = temporal.schedule.getHandle(LTV_ROLLUP_SCHEDULE_ID);
    for (let attempt = 1; ; attempt++) {
      const seen = new Set((await schedule.describe()).info.recentActions.map((action) => action.action.workflow.workflowId));
      // ALLOW_ALL: a run left on a queue without workers by another test must not make this trigger skip.
      await schedule.trigger(ScheduleOverlapPolicy.ALLOW_ALL);
      const workflowId = await eventually(async () => {
        const actions = (await schedule.describe()).info.recentActions;
        return actions.map((action) => action.action.workflow.workflowId).find((id) => !seen.has(id));
      }, 10_000, 'the triggered run');
      const handle = temporal.workflow.getHandle(workflowId);
      if ((await handle.describe()).taskQueue === queue || attempt === 3) return handle;
      await handle.terminate('started on the task queue of another test worker');
      await repoint();
    }
  }
});

interface MailMessage {
  subject: string;
  text: string;
  to: { address: string }[];
}
