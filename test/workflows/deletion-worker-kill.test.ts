import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { customerDeletionWorkflow } from '../../workflows/customer-deletion.workflow.js';
import { workflowIds } from '../../workflows/definitions.js';
import { eventually, startTestApi, type TestApi } from '../support/harness.js';
import { killableWorkers } from '../support/roles.js';

const DAY = 86_400_000;
const SUBSCRIPTIONS = 60;

/**
 * A worker of its own on a task queue of its own, killed (SIGKILL: no drain, open transactions
 * die with its connections) while the deletion is half-way through terminating subscriptions.
 * Batches of one subscription make "half-way" last long enough to hit.
 */
describe('a deletion whose worker is killed mid-step', () => {
  const taskQueue = `deletion-kill-${process.pid}-${Date.now()}`;
  const workers = killableWorkers(taskQueue, { DELETION_BATCH_SIZE: '1' });
  const startWorker = workers.start;
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi({ TEMPORAL_TASK_QUEUE: taskQueue });
  });
  afterAll(async () => {
    await workers.stopAll();
    await api.stop();
  });

  it('completes on a new worker with every effect exactly once', { timeout: 240_000 }, async () => {
    const first = await startWorker();
    const { merchantId, sandboxKey: key } = await api.merchant('Killed worker');
    const call = (method: string, path: string, body?: unknown) => api.request(method, path, { key, body });
    const { body: customer } = await call('POST', '/v1/customers', { currency: 'USD', name: 'Kill Test' });
    const start = new Date(Date.now() - 3 * DAY).toISOString();
    const subscriptions: { id: string; billing_time: string }[] = [];
    for (let i = 0; i < SUBSCRIPTIONS; i++) {
      const billing_time = i % 2 === 0 ? 'in_arrears' : 'in_advance';
      const { body } = await call('POST', '/v1/subscriptions', { customer_id: customer.id, plan_code: `plan-${i}`, amount: 3000, currency: 'USD', billing_time, start_date: start });
      subscriptions.push(body);
    }
    await call('POST', '/v1/applied_coupons', { customer_id: customer.id, coupon_code: 'FIVE', percent_off: 5, frequency: 'forever' });
    const { body: wallet } = await call('POST', '/v1/wallets', { customer_id: customer.id, currency: 'USD', granted_credits: 1_000_000 });
    for (const amount of [1200, 3400]) {
      await call('POST', '/v1/invoices', { customer_id: customer.id, currency: 'USD', lines: [{ description: 'Extra', unit_amount: amount }] });
    }

    expect((await call('DELETE', `/v1/customers/${customer.id}`)).status).toBe(202);
    const ended = () => api.runtime.db.subscription.count({ where: { customerId: customer.id, status: { in: ['terminated', 'canceled'] } } });
    const atKill = await eventually(
      async () => {
        const count = await ended();
        if (count === 0) return undefined;
        first.child.kill('SIGKILL');
        return count;
      },
      60_000,
      'the first subscriptions to be terminated',
    );
    await once(first.child, 'exit');
    expect(first.child.signalCode).toBe('SIGKILL');
    expect(atKill).toBeGreaterThan(0);
    expect(atKill).toBeLessThan(SUBSCRIPTIONS);
    expect(await ended()).toBeLessThan(SUBSCRIPTIONS);

    await startWorker();
    const handle = api.runtime.temporal.workflow.getHandle<typeof customerDeletionWorkflow>(workflowIds.customerDeletion(customer.id));
    const result = await handle.result();
    expect(result.status).toBe('completed');
    // The subscription step did run twice: its second attempt finished the work of the first.
    const history = await handle.fetchHistory();
    const attempts = history.events!.flatMap((event) => (event.activityTaskStartedEventAttributes ? [event.activityTaskStartedEventAttributes.attempt] : []));
    expect(Math.max(...attempts.map(Number))).toBeGreaterThanOrEqual(2);

    const db = api.runtime.db;
    expect(await ended()).toBe(SUBSCRIPTIONS);
    for (const subscription of subscriptions) {
      const lines = await db.invoiceLine.findMany({ where: { subscriptionId: subscription.id }, include: { invoice: true } });
      const notes = await db.creditNote.count({ where: { subscriptionId: subscription.id } });
      if (subscription.billing_time === 'in_arrears') {
        // Exactly one closing invoice, and no credit note.
        expect(lines.map((line) => line.invoice.status)).toEqual(['finalized']);
        expect(notes).toBe(0);
      } else {
        // The invoice of its period (billed at creation) and exactly one credit note.
        expect(lines).toHaveLength(1);
        expect(notes).toBe(1);
      }
    }
    expect(await db.invoice.count({ where: { customerId: customer.id, status: 'draft' } })).toBe(0);
    const transactions = await db.walletTransaction.findMany({ where: { walletId: wallet.id } });
    expect(transactions.filter((t) => t.type === 'voided')).toHaveLength(1);
    const sum = (type: string) => transactions.filter((t) => t.type === type).reduce((total, t) => total + t.credits, 0n);
    expect(sum('granted') + sum('purchased')).toBe(sum('consumed') + sum('voided'));

    const events = await db.event.findMany({ where: { merchantId, customerId: customer.id } });
    const seen = new Map<string, number>();
    for (const event of events) {
      const key = `${event.type} ${(event.data as { object: { id: string } }).object.id}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    expect([...seen].filter(([, count]) => count > 1)).toEqual([]);
    const count = (type: string) => events.filter((event) => event.type === type).length;
    expect(count('subscription.terminated')).toBe(SUBSCRIPTIONS);
    expect(count('credit_note.created')).toBe(SUBSCRIPTIONS / 2);
    // Finalized: the in-advance invoices at creation, the closing invoices and the two drafts.
    expect(count('invoice.finalized')).toBe(SUBSCRIPTIONS + 2);
    expect(count('wallet.terminated')).toBe(1);
    expect(count('customer.deleted')).toBe(1);
    expect((await db.customer.findUniqueOrThrow({ where: { id: customer.id } })).erasedAt).not.toBeNull();
  });
});
