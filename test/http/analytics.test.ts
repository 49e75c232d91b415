import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEARCH_ATTRIBUTES } from '../../workflows/definitions.js';
import { recordEvents } from '../../src/events/outbox.js';
import { newId } from '../../src/lib/ids.js';
import { eventually, startTestApi, testConfig, type TestApi } from '../support/harness.js';

describe('customer analytics: stats, top customers, summary and rollups over HTTP', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.stop());

  async function customer(key: string, email: string): Promise<string> {
    const response = await api.request('POST', '/v1/customers', { key, body: { email } });
    expect(response.status).toBe(201);
    return response.body.id;
  }

  const paymentRow = (merchantId: string, customerId: string, amount: bigint, currency: string, status: 'succeeded' | 'failed' | 'partially_refunded', amountRefunded = 0n) => ({
    id: newId('payment'),
    merchantId,
    environment: 'sandbox' as const,
    customerId,
    amount,
    amountRefunded,
    currency,
    status,
    source: 'api' as const,
    createdAt: new Date('2026-05-01T00:00:00Z'),
  });

  const subscriptionRow = (merchantId: string, customerId: string, amount: bigint, currency: string, interval: 'month' | 'year', status: 'active' | 'canceled') => ({
    id: newId('subscription'),
    merchantId,
    environment: 'sandbox' as const,
    customerId,
    planCode: 'pro',
    amount,
    currency,
    interval,
    billingTime: 'in_advance' as const,
    status,
    currentPeriodStart: new Date('2026-05-01T00:00:00Z'),
    currentPeriodEnd: new Date('2026-06-01T00:00:00Z'),
  });

  async function rollUp(key: string) {
    const started = await api.request('POST', '/v1/analytics/rollups', { key });
    expect(started.status).toBe(202);
    return eventually(async () => {
      const progress = await api.request('GET', started.body.status_url, { key });
      return progress.body.status === 'completed' ? progress.body : undefined;
    }, 20_000, 'the rollup');
  }

  it('ranks customers by LTV per currency with keyset pages, and sums them per currency', async () => {
    const { sandboxKey: key, merchantId } = await api.merchant('Ranked');
    const [first, second, third, euro, subscriber, leaving] = [
      await customer(key, 'first@rank.test'),
      await customer(key, 'second@rank.test'),
      await customer(key, 'third@rank.test'),
      await customer(key, 'euro@rank.test'),
      await customer(key, 'subscriber@rank.test'),
      await customer(key, 'leaving@rank.test'),
    ];
    const { db } = api.runtime;
    await db.payment.createMany({
      data: [
        paymentRow(merchantId, first, 10_000n, 'USD', 'succeeded'),
        paymentRow(merchantId, first, 5_000n, 'USD', 'partially_refunded', 2_000n),
        paymentRow(merchantId, second, 20_000n, 'USD', 'succeeded'),
        paymentRow(merchantId, third, 13_000n, 'USD', 'succeeded'),
        paymentRow(merchantId, euro, 700n, 'EUR', 'succeeded'),
        paymentRow(merchantId, euro, 99_999n, 'USD', 'failed'),
        paymentRow(merchantId, leaving, 90_000n, 'USD', 'succeeded'),
      ],
    });
    await db.subscription.create({ data: subscriptionRow(merchantId, subscriber, 1_000n, 'EUR', 'month', 'active') });
    const rollup = await rollUp(key);
    expect(rollup).toMatchObject({ customers_done: 6, customers_total: 6 });

    const leavingDeletion = await api.request('DELETE', `/v1/customers/${leaving}`, { key });
    expect(leavingDeletion.status).toBe(202);
    // The deletion's customer.deleted event takes the customer's stats away.
    const page1 = await eventually(async () => {
      const response = await api.request('GET', '/v1/analytics/customers?currency=usd&limit=2', { key });
      return response.body.data[0]?.customer_id === second ? response.body : undefined;
    }, 20_000, 'the deleted customer to leave the ranking');
    // Equal totals rank the newer customer (higher id) first.
    expect(page1).toMatchObject({ object: 'list', total: 3, has_more: true });
    expect(page1.data.map((row: { customer_id: string }) => row.customer_id)).toEqual([second, third]);
    expect(page1.data[0]).toMatchObject({
      object: 'customer_ltv',
      email: 'second@rank.test',
      currency: 'USD',
      total_spent: 20_000,
      total_spent_decimal: '200.00',
      payment_count: 1,
    });
    const page2 = await api.request('GET', `/v1/analytics/customers?currency=USD&limit=2&starting_after=${third}`, { key });
    expect(page2.body).toMatchObject({ total: 3, has_more: false });
    expect(page2.body.data).toEqual([
      expect.objectContaining({ customer_id: first, total_spent: 13_000, payment_count: 2, average_payment: 6_500 }),
    ]);
    const euros = await api.request('GET', '/v1/analytics/customers?currency=EUR', { key });
    expect(euros.body.data.map((row: { customer_id: string; mrr: number }) => [row.customer_id, row.mrr])).toEqual([
      [euro, 0],
      [subscriber, 1_000],
    ]);

    const summary = await api.request('GET', '/v1/analytics/summary', { key });
    expect(summary.body).toEqual({
      object: 'analytics_summary',
      customers: { total: 5, with_payments: 4, without_payments: 1 },
      active_subscriptions: 1,
      currencies: [
        {
          currency: 'EUR',
          total_spent: 700,
          total_spent_decimal: '7.00',
          payment_count: 1,
          average_payment: 700,
          average_payment_decimal: '7.00',
          customers_with_payments: 1,
          mrr: 1_000,
          mrr_decimal: '10.00',
          active_subscriptions: 1,
        },
        {
          currency: 'USD',
          total_spent: 46_000,
          total_spent_decimal: '460.00',
          payment_count: 4,
          average_payment: 11_500,
          average_payment_decimal: '115.00',
          customers_with_payments: 3,
          mrr: 0,
          mrr_decimal: '0.00',
          active_subscriptions: 0,
        },
      ],
      computed_at: expect.any(String),
    });

    // Another tenant sees nothing of it.
    const other = await api.merchant('Ranked elsewhere');
    const foreign = await api.request('GET', '/v1/analytics/customers?currency=USD', { key: other.sandboxKey });
    expect(foreign.body).toMatchObject({ data: [], total: 0 });
    const foreignCursor = await api.request('GET', `/v1/analytics/customers?currency=USD&starting_after=${first}`, { key: other.sandboxKey });
    expect(foreignCursor.status).toBe(400);
    expect(foreignCursor.body.error.param).toBe('starting_after');
    expect((await api.request('GET', '/v1/analytics/customers', { key })).body.error.param).toBe('currency');
  }, 60_000);

  it('follows payments, refunds and subscriptions between nightly runs through their events', async () => {
    const { sandboxKey: key, merchantId } = await api.merchant('Fresh stats');
    const id = await customer(key, 'fresh@stats.test');
    const scope = { merchantId, environment: 'sandbox' as const };
    const { db } = api.runtime;
    const stats = async (until: (stats: any) => boolean, what: string) =>
      eventually(async () => {
        const response = await api.request('GET', `/v1/customers/${id}?expand=stats`, { key });
        return until(response.body.stats) ? response.body.stats : undefined;
      }, 15_000, what);

    const payment = paymentRow(merchantId, id, 10_000n, 'USD', 'succeeded');
    await db.$transaction(async (tx) => {
      await tx.payment.create({ data: payment });
      await recordEvents(tx, scope, [{ type: 'payment.succeeded', object: { id: payment.id }, customerId: id }]);
    });
    expect((await stats((s) => s.total_spent.USD === '100.00', 'the payment')).payment_count).toBe(1);

    await db.$transaction(async (tx) => {
      await tx.payment.update({ where: { id: payment.id }, data: { status: 'partially_refunded', amountRefunded: 2_500n } });
      await tx.refund.create({ data: { id: newId('refund'), ...scope, paymentId: payment.id, amount: 2_500n } });
      await recordEvents(tx, scope, [{ type: 'payment.partially_refunded', object: { id: payment.id }, customerId: id }]);
    });
    const refunded = await stats((s) => s.total_spent.USD === '75.00', 'the refund');
    expect(refunded.currencies[0]).toMatchObject({ payment_count: 1, average_payment: 7_500 });

    const plan = subscriptionRow(merchantId, id, 12_000n, 'EUR', 'year', 'active');
    await db.$transaction(async (tx) => {
      await tx.subscription.create({ data: plan });
      await recordEvents(tx, scope, [{ type: 'subscription.created', object: { id: plan.id }, customerId: id }]);
    });
    const subscribed = await stats((s) => s.subscription_status === 'active', 'the subscription');
    expect(subscribed.mrr).toEqual({ EUR: '10.00', USD: '0.00' });
    expect(subscribed.total_spent).toEqual({ EUR: '0.00', USD: '75.00' });

    await db.$transaction(async (tx) => {
      await tx.subscription.update({ where: { id: plan.id }, data: { status: 'canceled', canceledAt: new Date() } });
      await recordEvents(tx, scope, [{ type: 'subscription.canceled', object: { id: plan.id }, customerId: id }]);
    });
    const canceled = await stats((s) => s.subscription_status === 'canceled', 'the cancellation');
    expect(canceled.mrr).toEqual({ EUR: '0.00', USD: '0.00' });
  }, 60_000);

  it('follows the billing API: payments, a refund, a yearly subscription and its cancellation', async () => {
    const { sandboxKey: key } = await api.merchant('Billing-driven stats');
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await api.request(method, path, { key, body });
      expect(response.status, JSON.stringify(response.body)).toBeLessThan(300);
      return response.body;
    };
    const customer = await call('POST', '/v1/customers', { currency: 'EUR' });
    const stats = async (until: (stats: any) => boolean, what: string) =>
      eventually(async () => {
        const { stats } = await call('GET', `/v1/customers/${customer.id}?expand=stats`);
        return until(stats) ? stats : undefined;
      }, 15_000, what);

    const paid = await call('POST', '/v1/payments', { customer_id: customer.id, amount: 5_000, currency: 'EUR', status: 'succeeded' });
    const pending = await call('POST', '/v1/payments', { customer_id: customer.id, amount: 7_000, currency: 'EUR' });
    await stats((s) => s.payment_count === 1, 'the succeeded payment');
    await call('POST', `/v1/payments/${pending.id}/succeed`);
    await call('POST', `/v1/payments/${paid.id}/refunds`, { amount: 1_000 });
    const refunded = await stats((s) => s.total_spent.EUR === '110.00' && s.payment_count === 2, 'the refund and the second payment');
    expect(refunded.currencies[0]).toMatchObject({ average_payment: 5_500, last_payment_at: expect.any(String) });

    const plan = await call('POST', '/v1/subscriptions', { customer_id: customer.id, plan_code: 'annual', amount: 120_000, currency: 'EUR', interval: 'year' });
    expect((await stats((s) => s.subscription_status === 'active', 'the subscription')).mrr).toEqual({ EUR: '100.00' });
    await call('POST', `/v1/subscriptions/${plan.id}/cancel`);
    const ended = await stats((s) => s.subscription_status === 'canceled', 'the cancellation');
    expect(ended).toMatchObject({ mrr: { EUR: '0.00' }, total_spent: { EUR: '110.00' }, payment_count: 2 });
  });

  it('starts a rollup of the caller only: 202 with its run, progress from the database, 404 to others', async () => {
    const { sandboxKey: key, liveKey, merchantId } = await api.merchant('Rollup starter');
    await customer(key, 'one@rollup.test');
    await customer(key, 'two@rollup.test');
    const started = await api.request('POST', '/v1/analytics/rollups', { key, headers: { 'idempotency-key': 'rollup-now-1' } });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({
      object: 'stats_rollup',
      status: 'running',
      workflow_id: `ltv-rollup:${merchantId}:sandbox:${started.body.id}`,
      run_id: expect.any(String),
      status_url: `/v1/analytics/rollups/${started.body.id}`,
    });
    expect(started.body.id).toMatch(/^ltvr_[0-9A-Z]{26}$/);
    expect(started.body.temporal_ui_url).toContain(encodeURIComponent(started.body.workflow_id));
    const replay = await api.request('POST', '/v1/analytics/rollups', { key, headers: { 'idempotency-key': 'rollup-now-1' } });
    expect(replay.body.id).toBe(started.body.id);

    const done = await eventually(async () => {
      const progress = await api.request('GET', started.body.status_url, { key });
      return progress.body.status === 'completed' ? progress.body : undefined;
    }, 20_000, 'the rollup');
    expect(done).toMatchObject({ customers_done: 2, customers_total: 2, completed: expect.any(String), failure_reason: null });
    const description = await api.runtime.temporal.workflow.getHandle(started.body.workflow_id).describe();
    expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.merchantId)).toBe(merchantId);

    const other = await api.merchant('Rollup onlooker');
    expect((await api.request('GET', started.body.status_url, { key: other.sandboxKey })).status).toBe(404);
    expect((await api.request('GET', started.body.status_url, { key: liveKey })).status).toBe(404);
  });
  it('runs one rollup per merchant and environment: simultaneous and later starts answer the running one', async () => {
    const { sandboxKey: key, liveKey, merchantId } = await api.merchant('Rollup once');
    const held = await customer(key, 'held@rollup.test');
    const { db } = api.runtime;
    await db.payment.create({ data: paymentRow(merchantId, held, 1_000n, 'USD', 'succeeded') });
    await db.$transaction((tx) => api.runtime.services.stores.stats.refresh(tx, { ids: [held] }));
    // Holding the customer's stats row keeps the rollup's batch, hence the rollup, running.
    const locker = new pg.Client({ connectionString: testConfig().DATABASE_URL });
    await locker.connect();
    let replacement: Awaited<ReturnType<typeof api.request>>;
    try {
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM customer_stats WHERE customer_id = $1 FOR UPDATE', [held]);
      const start = () => api.request('POST', '/v1/analytics/rollups', { key });
      const [first, second] = await Promise.all([start(), start()]);
      expect([first.status, second.status]).toEqual([202, 202]);
      expect(second.body).toMatchObject({ id: first.body.id, run_id: first.body.run_id, status: 'running' });
      const later = await start();
      expect(later.body).toMatchObject({ id: first.body.id, run_id: first.body.run_id });
      expect(await db.statsRollup.count({ where: { merchantId } })).toBe(1);
      // Another environment of the merchant is another tenant.
      const live = await api.request('POST', '/v1/analytics/rollups', { key: liveKey });
      expect(live.status).toBe(202);
      expect(live.body.id).not.toBe(first.body.id);
      // A rollup whose run was terminated without finishing blocks no new one: it is marked failed.
      await api.runtime.temporal.workflow.getHandle(first.body.workflow_id).terminate('test');
      replacement = await start();
      expect(replacement.status).toBe(202);
      expect(replacement.body.id).not.toBe(first.body.id);
      expect((await api.request('GET', `/v1/analytics/rollups/${first.body.id}`, { key })).body).toMatchObject({
        status: 'failed',
        failure_reason: expect.stringContaining('TERMINATED'),
      });
      expect((await start()).body.id).toBe(replacement.body.id);
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
    const done = await eventually(async () => {
      const progress = await api.request('GET', `/v1/analytics/rollups/${replacement.body.id}`, { key });
      return progress.body.status === 'completed' ? progress.body : undefined;
    }, 20_000, 'the held rollup');
    expect(done.customers_done).toBe(1);
    const next = await api.request('POST', '/v1/analytics/rollups', { key });
    expect(next.status).toBe(202);
    expect(next.body.id).not.toBe(replacement.body.id);
  });
});
