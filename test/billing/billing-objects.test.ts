import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/harness.js';

const DAY = 86_400_000;

describe('billing objects', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.stop());

  async function setup(name: string, profile: Record<string, unknown> = {}) {
    const merchant = await api.merchant(name);
    const call = (method: string, path: string, body?: unknown, key = merchant.sandboxKey) => api.request(method, path, { key, body });
    const { body: customer } = await call('POST', '/v1/customers', { currency: 'USD', name: 'Ada Lovelace', ...profile });
    const eventTypes = async () =>
      (await api.runtime.db.event.findMany({ where: { merchantId: merchant.merchantId }, orderBy: { id: 'asc' } })).map((e) => e.type);
    return { ...merchant, call, customer, eventTypes };
  }

  it('invoices an in-advance subscription at once, numbered per merchant and environment, with a billing snapshot', async () => {
    const { call, customer, liveKey } = await setup('Subscriber', {
      company_name: 'Analytical Engines Ltd',
      tax_id: 'GB123456789',
      address: { line1: '1 St James Sq', city: 'London', country: 'GB' },
    });
    const created = await call('POST', '/v1/subscriptions', {
      customer_id: customer.id,
      plan_code: 'pro',
      amount: 3000,
      currency: 'USD',
      billing_time: 'in_advance',
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ object: 'subscription', status: 'active', interval: 'month', billing_time: 'in_advance', amount: 3000 });
    const invoices = await call('GET', `/v1/invoices?customer_id=${customer.id}`);
    expect(invoices.body.data).toEqual([
      expect.objectContaining({
        invoice_type: 'subscription',
        status: 'finalized',
        number: 'INV-000001',
        subtotal: 3000,
        coupons_amount: 0,
        credits_applied: 0,
        total: 3000,
        billing_details: {
          name: 'Ada Lovelace',
          company_name: 'Analytical Engines Ltd',
          tax_id: 'GB123456789',
          address: { line1: '1 St James Sq', line2: null, city: 'London', state: null, postal_code: null, country: 'GB' },
        },
        lines: [
          expect.objectContaining({
            subscription_id: created.body.id,
            amount: 3000,
            period_start: created.body.current_period_start,
            period_end: created.body.current_period_end,
          }),
        ],
      }),
    ]);
    // The snapshot is the legal record: a later change of the customer does not touch it.
    await call('PATCH', `/v1/customers/${customer.id}`, { name: 'Ada King' });
    const kept = await call('GET', `/v1/invoices/${invoices.body.data[0].id}`);
    expect(kept.body.billing_details.name).toBe('Ada Lovelace');

    const second = await call('POST', '/v1/invoices', { customer_id: customer.id, currency: 'USD', lines: [{ description: 'Setup', unit_amount: 100 }] });
    expect((await call('POST', `/v1/invoices/${second.body.id}/finalize`)).body.number).toBe('INV-000002');
    // Live numbers are a sequence of their own.
    const { body: liveCustomer } = await call('POST', '/v1/customers', { currency: 'USD' }, liveKey);
    const live = await call('POST', '/v1/invoices', { customer_id: liveCustomer.id, currency: 'USD', lines: [{ description: 'x', unit_amount: 1 }] }, liveKey);
    expect((await call('POST', `/v1/invoices/${live.body.id}/finalize`, undefined, liveKey)).body.number).toBe('INV-000001');
  });

  it('settles a canceled subscription: closing invoice in arrears, credit note in advance, cancel for pending', async () => {
    const { call, customer, eventTypes } = await setup('Canceller');
    const tenDaysAgo = new Date(Date.now() - 10 * DAY).toISOString();
    const arrears = await call('POST', '/v1/subscriptions', {
      customer_id: customer.id, plan_code: 'basic', amount: 3100, currency: 'USD', billing_time: 'in_arrears', start_date: tenDaysAgo,
    });
    const advance = await call('POST', '/v1/subscriptions', {
      customer_id: customer.id, plan_code: 'pro', amount: 3100, currency: 'USD', billing_time: 'in_advance', start_date: tenDaysAgo,
    });
    const pending = await call('POST', '/v1/subscriptions', {
      customer_id: customer.id, plan_code: 'later', amount: 500, currency: 'USD', start_date: new Date(Date.now() + 5 * DAY).toISOString(),
    });
    expect(pending.body.status).toBe('pending');

    const endedArrears = await call('POST', `/v1/subscriptions/${arrears.body.id}/cancel`);
    expect(endedArrears.body).toMatchObject({ status: 'terminated', canceled_at: null });
    const endedAdvance = await call('POST', `/v1/subscriptions/${advance.body.id}/cancel`);
    const endedPending = await call('POST', `/v1/subscriptions/${pending.body.id}/cancel`);
    expect(endedPending.body).toMatchObject({ status: 'canceled', terminated_at: null });
    expect((await call('POST', `/v1/subscriptions/${pending.body.id}/cancel`)).status).toBe(409);

    const split = (subscription: any, ended: any) => {
      const start = Date.parse(subscription.current_period_start);
      const end = Date.parse(subscription.current_period_end);
      const periodDays = Math.round((end - start) / DAY);
      const remaining = Math.floor((end - Date.parse(ended.terminated_at)) / DAY);
      const unused = Math.floor((subscription.amount * remaining) / periodDays);
      return { used: subscription.amount - unused, unused };
    };
    const closing = await call('GET', `/v1/invoices?customer_id=${customer.id}&invoice_type=subscription&status=finalized`);
    const closingInvoice = closing.body.data.find((i: any) => i.lines[0].subscription_id === arrears.body.id);
    expect(closingInvoice).toMatchObject({ total: split(arrears.body, endedArrears.body).used, status: 'finalized' });
    const notes = await call('GET', `/v1/customers/${customer.id}/credit_notes`);
    expect(notes.body.data).toEqual([
      expect.objectContaining({
        subscription_id: advance.body.id,
        reason: 'order_cancellation',
        amount: split(advance.body, endedAdvance.body).unused,
        number: expect.stringMatching(/^INV-\d{6}-CN001$/),
      }),
    ]);
    const types = await eventTypes();
    expect(types.filter((t) => t === 'subscription.terminated')).toHaveLength(2);
    expect(types.filter((t) => t === 'subscription.canceled')).toHaveLength(1);
    expect(types.filter((t) => t === 'credit_note.created')).toHaveLength(1);
    const other = await call('POST', '/v1/subscriptions', { customer_id: customer.id, plan_code: 'eur', amount: 1, currency: 'EUR' });
    expect(other.status).toBe(409);
    expect(other.body.error.param).toBe('currency');
  });

  it('credits the unused days of what the period invoice charged after its coupons, not of the list price', async () => {
    // Issue 23's case: a 100.00 plan billed in advance with a 50% coupon (50.00 charged), ended with
    // 19 of its 30 days unused. The customer used 11 days of a 50.00 period: 50.00 x 19 / 30 =
    // 31.666..., rounded down to the minor unit as every proration is: 31.66 (the 50.00 of the old
    // rule left the 11 days unpaid).
    const { call, customer } = await setup('Discounted period');
    await call('POST', '/v1/applied_coupons', { customer_id: customer.id, coupon_code: 'HALF', percent_off: 50, frequency: 'forever' });
    const { body: subscription } = await call('POST', '/v1/subscriptions', {
      customer_id: customer.id, plan_code: 'pro', amount: 10000, currency: 'USD', billing_time: 'in_advance',
    });
    const { body: invoices } = await call('GET', `/v1/customers/${customer.id}/invoices`);
    expect(invoices.data).toEqual([expect.objectContaining({ subtotal: 10000, coupons_amount: 5000, total: 5000, status: 'finalized' })]);
    // The period is moved so that cancelling now leaves 19 whole days of 30 (10.5 days used).
    const start = new Date(Date.now() - 10.5 * DAY);
    const end = new Date(start.getTime() + 30 * DAY);
    const { db } = api.runtime;
    await db.subscription.update({ where: { id: subscription.id }, data: { currentPeriodStart: start, currentPeriodEnd: end } });
    await db.invoiceLine.updateMany({ where: { subscriptionId: subscription.id }, data: { periodStart: start, periodEnd: end } });

    expect((await call('POST', `/v1/subscriptions/${subscription.id}/cancel`)).body.status).toBe('terminated');
    const notes = await call('GET', `/v1/customers/${customer.id}/credit_notes`);
    expect(notes.body.data).toEqual([
      expect.objectContaining({ invoice_id: invoices.data[0].id, amount: 3166, description: 'Unused time of pro: 19 of 30 days' }),
    ]);
  });

  it('discounts subscription invoices with applied coupons, oldest first, and terminates used-up ones', async () => {
    const { call, customer, eventTypes } = await setup('Coupons');
    const fixed = await call('POST', '/v1/applied_coupons', { customer_id: customer.id, coupon_code: 'TENOFF', amount_off: 1000, currency: 'USD' });
    expect(fixed.status, JSON.stringify(fixed.body)).toBe(201);
    expect(fixed.body).toMatchObject({ status: 'active', frequency: 'once', amount_remaining: 1000 });
    const percent = await call('POST', '/v1/applied_coupons', { customer_id: customer.id, coupon_code: 'HALF', percent_off: 50, frequency: 'forever' });
    expect((await call('POST', '/v1/applied_coupons', { customer_id: customer.id, coupon_code: 'HALF', percent_off: 10 })).status).toBe(409);
    expect((await call('POST', '/v1/applied_coupons', { customer_id: customer.id, coupon_code: 'BAD', amount_off: 5 })).status).toBe(400);
    expect((await call('POST', '/v1/applied_coupons', { customer_id: customer.id, coupon_code: 'BAD', amount_off: 5, percent_off: 5, currency: 'USD' })).status).toBe(400);

    await call('POST', '/v1/subscriptions', { customer_id: customer.id, plan_code: 'a', amount: 600, currency: 'USD', billing_time: 'in_advance' });
    await call('POST', '/v1/subscriptions', { customer_id: customer.id, plan_code: 'b', amount: 2000, currency: 'USD', billing_time: 'in_advance' });
    const { body: invoices } = await call('GET', `/v1/customers/${customer.id}/invoices`);
    // First: 600 - 600 (fixed) = 0, then 50% of 0. Second: 2000 - 400 (fixed rest) = 1600, then 50% = 800.
    expect(invoices.data.map((i: any) => [i.subtotal, i.coupons_amount, i.total])).toEqual([
      [2000, 1200, 800],
      [600, 600, 0],
    ]);
    expect((await call('GET', `/v1/applied_coupons/${fixed.body.id}`)).body).toMatchObject({ status: 'terminated', amount_remaining: 0 });
    expect((await call('GET', `/v1/customers/${customer.id}/coupons?status=active`)).body.data.map((c: any) => c.id)).toEqual([percent.body.id]);
    const terminated = await call('DELETE', `/v1/applied_coupons/${percent.body.id}`);
    expect(terminated.body.status).toBe('terminated');
    expect((await call('DELETE', `/v1/applied_coupons/${percent.body.id}`)).body.status).toBe('terminated');
    expect((await eventTypes()).filter((t) => t === 'applied_coupon.terminated')).toHaveLength(2);
  });

  it('keeps every wallet balance equal to its transactions: grants, purchases, consumption by invoices, voids', async () => {
    const { call, customer } = await setup('Wallets');
    const created = await call('POST', '/v1/wallets', {
      customer_id: customer.id,
      currency: 'USD',
      name: 'Prepaid',
      rate_amount: 10,
      granted_credits: 50,
      purchased_credits: 100,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ status: 'active', credits_balance: 150, balance_amount: 1500, rate_amount: 10 });
    expect((await call('POST', '/v1/wallets', { customer_id: customer.id, currency: 'USD' })).status).toBe(409);
    const credit = await call('GET', `/v1/invoices?customer_id=${customer.id}&invoice_type=credit`);
    expect(credit.body.data).toEqual([expect.objectContaining({ status: 'finalized', total: 1000, credits_applied: 0 })]);

    // 1234 due: 123 whole credits (1230) apply, 4 stay due.
    const draft = await call('POST', '/v1/invoices', {
      customer_id: customer.id,
      currency: 'USD',
      lines: [
        { description: 'Seats', quantity: 3, unit_amount: 400 },
        { description: 'Extra', unit_amount: 34 },
      ],
    });
    expect(draft.body).toMatchObject({ status: 'draft', subtotal: 1234, total: 1234, number: null });
    const finalized = await call('POST', `/v1/invoices/${draft.body.id}/finalize`);
    expect(finalized.body).toMatchObject({ status: 'finalized', subtotal: 1234, credits_applied: 1230, total: 4 });
    expect((await call('POST', `/v1/invoices/${draft.body.id}/finalize`)).status).toBe(409);

    const wallet = created.body.id;
    expect((await call('POST', `/v1/wallets/${wallet}/transactions`, { type: 'voided', credits: 28 })).status).toBe(400);
    const voided = await call('POST', `/v1/wallets/${wallet}/transactions`, { type: 'voided', credits: 7 });
    expect(voided.body).toMatchObject({ type: 'voided', credits: 7, amount: 70, credits_balance_after: 20 });
    await call('POST', `/v1/wallets/${wallet}/transactions`, { type: 'granted', credits: 5 });
    const terminated = await call('DELETE', `/v1/wallets/${wallet}`);
    expect(terminated.body).toMatchObject({ status: 'terminated', credits_balance: 0 });
    expect((await call('POST', `/v1/wallets/${wallet}/transactions`, { type: 'granted', credits: 5 })).status).toBe(409);

    const { body: transactions } = await call('GET', `/v1/wallets/${wallet}/transactions`);
    expect(transactions.data.map((t: any) => [t.type, t.credits, t.credits_balance_after]).reverse()).toEqual([
      ['granted', 50, 50],
      ['purchased', 100, 150],
      ['consumed', 123, 27],
      ['voided', 7, 20],
      ['granted', 5, 25],
      ['voided', 25, 0],
    ]);
    const byCustomer = await call('GET', `/v1/wallet_transactions?customer_id=${customer.id}&type=consumed`);
    expect(byCustomer.body.data).toEqual([expect.objectContaining({ invoice_id: draft.body.id, amount: 1230 })]);
    expect((await call('GET', `/v1/wallet_transactions/${byCustomer.body.data[0].id}`)).body.type).toBe('consumed');
    // The currency is free again for a new wallet.
    expect((await call('POST', '/v1/wallets', { customer_id: customer.id, currency: 'USD' })).status).toBe(201);
    expect((await call('GET', `/v1/customers/${customer.id}/wallets`)).body.total).toBe(2);
  });

  it('keeps every amount and balance exact on the wire: refuses what would pass 2^53 - 1, reads a larger stored one as digits', async () => {
    const { call, customer } = await setup('Exact amounts');
    const max = Number.MAX_SAFE_INTEGER;
    // Issue 23: two grants of 9e12 credits at 1000 each are worth 1.8e16, past 2^53 - 1.
    const created = await call('POST', '/v1/wallets', { customer_id: customer.id, currency: 'USD', rate_amount: 1000, granted_credits: 9e12 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ credits_balance: 9e12, balance_amount: 9e15 });
    const wallet = created.body.id;
    const second = await call('POST', `/v1/wallets/${wallet}/transactions`, { type: 'granted', credits: 9e12 });
    expect(second.status).toBe(400);
    expect(second.body.error.errors).toEqual([expect.objectContaining({ param: 'credits' })]);
    expect((await call('POST', `/v1/wallets/${wallet}/transactions`, { type: 'purchased', credits: 9e12 })).status).toBe(400);
    expect((await call('GET', `/v1/wallets/${wallet}`)).body).toMatchObject({ credits_balance: 9e12, balance_amount: 9e15 });
    expect((await call('GET', `/v1/invoices?customer_id=${customer.id}`)).body.total).toBe(0);
    // A sum past the bound at creation names its field; nothing of the wallet is left behind.
    const { body: other } = await call('POST', '/v1/customers', { currency: 'USD' });
    const tooRich = await call('POST', '/v1/wallets', { customer_id: other.id, currency: 'USD', rate_amount: 2, granted_credits: max - 1, purchased_credits: 2 });
    expect(tooRich.status).toBe(400);
    expect(tooRich.body.error.errors).toEqual([expect.objectContaining({ param: 'granted_credits' })]);
    expect((await call('GET', `/v1/wallets?customer_id=${other.id}`)).body.total).toBe(0);
    // Every amount a client sends is refused past the bound, naming it.
    for (const [path, body, param] of [
      ['/v1/payments', { customer_id: customer.id, amount: max + 1, currency: 'USD' }, 'amount'],
      ['/v1/subscriptions', { customer_id: customer.id, plan_code: 'big', amount: max + 1, currency: 'USD' }, 'amount'],
      ['/v1/applied_coupons', { customer_id: customer.id, coupon_code: 'BIG', amount_off: max + 1, currency: 'USD' }, 'amount_off'],
      ['/v1/invoices', { customer_id: customer.id, currency: 'USD', lines: [{ description: 'a', unit_amount: max }, { description: 'b', unit_amount: 1 }] }, 'lines'],
      ['/v1/wallets', { customer_id: other.id, currency: 'USD', rate_amount: max + 1 }, 'rate_amount'],
    ] as const) {
      const refused = await call('POST', path, body);
      expect(refused.status, path).toBe(400);
      expect(refused.body.error.errors.map((e: any) => e.param), path).toContain(param);
    }

    // A balance stored past the bound before it existed: reads answer it exactly as digits, never 500.
    await api.runtime.db.wallet.update({ where: { id: wallet }, data: { creditsBalance: 18_000_000_000_000n } });
    const big = await call('GET', `/v1/wallets/${wallet}`);
    expect(big.status).toBe(200);
    expect(big.body).toMatchObject({ credits_balance: 18e12, balance_amount: '18000000000000000' });
    const list = await call('GET', `/v1/wallets?customer_id=${customer.id}`);
    expect(list.status).toBe(200);
    expect(list.body.data[0].balance_amount).toBe('18000000000000000');
    // It can still be emptied: the void's amount is answered as digits too.
    const terminated = await call('DELETE', `/v1/wallets/${wallet}`);
    expect(terminated.body).toMatchObject({ status: 'terminated', credits_balance: 0, balance_amount: 0 });
    const { body: transactions } = await call('GET', `/v1/wallets/${wallet}/transactions?type=voided`);
    expect(transactions.data).toEqual([expect.objectContaining({ credits: 18e12, amount: '18000000000000000', credits_balance_after: 0 })]);
  });

  it('voids drafts only, refuses negative totals, and caps credit notes at what was billed', async () => {
    const { call, customer } = await setup('Invoices');
    const negative = await call('POST', '/v1/invoices', {
      customer_id: customer.id,
      currency: 'USD',
      lines: [
        { description: 'Service', unit_amount: 100 },
        { description: 'Goodwill', unit_amount: -300 },
      ],
    });
    expect(negative.body.subtotal).toBe(-200);
    const refused = await call('POST', `/v1/invoices/${negative.body.id}/finalize`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain(negative.body.id);
    const voided = await call('POST', `/v1/invoices/${negative.body.id}/void`);
    expect(voided.body).toMatchObject({ status: 'voided', number: null });
    expect(voided.body.voided).not.toBeNull();

    const { body: draft } = await call('POST', '/v1/invoices', { customer_id: customer.id, currency: 'USD', lines: [{ description: 'Consulting', unit_amount: 5000 }] });
    expect((await call('POST', '/v1/credit_notes', { invoice_id: draft.id, amount: 1, reason: 'other' })).status).toBe(409);
    const { body: invoice } = await call('POST', `/v1/invoices/${draft.id}/finalize`);
    expect((await call('POST', `/v1/invoices/${invoice.id}/void`)).status).toBe(409);
    const first = await call('POST', '/v1/credit_notes', { invoice_id: invoice.id, amount: 3000, reason: 'order_change', description: 'Fewer hours' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ number: `${invoice.number}-CN001`, amount: 3000, billing_details: invoice.billing_details, status: 'issued' });
    const over = await call('POST', '/v1/credit_notes', { invoice_id: invoice.id, amount: 2001, reason: 'other' });
    expect(over.status).toBe(400);
    const second = await call('POST', '/v1/credit_notes', { invoice_id: invoice.id, amount: 2000, reason: 'other' });
    expect(second.body.number).toBe(`${invoice.number}-CN002`);
    expect((await call('GET', `/v1/credit_notes?invoice_id=${invoice.id}`)).body.total).toBe(2);
    const foreign = await call('POST', '/v1/invoices', { customer_id: customer.id, currency: 'EUR', lines: [{ description: 'x', unit_amount: 1 }] });
    expect(foreign.status).toBe(409);
  });

  it('pins external_id and currency once a wallet or coupon exists, and lists related objects', async () => {
    const { call, customer } = await setup('Pins', { external_id: 'pinned-1' });
    expect((await call('PATCH', `/v1/customers/${customer.id}`, { external_id: 'pinned-2' })).status).toBe(200);
    await call('POST', '/v1/applied_coupons', { customer_id: customer.id, coupon_code: 'X', percent_off: 5 });
    const refused = await call('PATCH', `/v1/customers/${customer.id}`, { external_id: 'pinned-3' });
    expect(refused.status).toBe(409);

    const { body: other } = await call('POST', '/v1/customers', { currency: 'USD' });
    await call('POST', '/v1/wallets', { customer_id: other.id, currency: 'USD' });
    expect((await call('PATCH', `/v1/customers/${other.id}`, { currency: 'EUR' })).status).toBe(409);
    for (const list of ['payments', 'subscriptions', 'wallets', 'invoices', 'credit_notes', 'coupons']) {
      const response = await call('GET', `/v1/customers/${other.id}/${list}`);
      expect(response.status, list).toBe(200);
      expect(response.body.object).toBe('list');
    }
    expect((await call('GET', `/v1/customers/${other.id}/wallets`)).body.total).toBe(1);
  });

  it('refuses new billing objects for a customer being deleted', async () => {
    const { call, customer } = await setup('Leaving');
    await api.runtime.db.customer.update({ where: { id: customer.id }, data: { status: 'deleting' } });
    const attempts = await Promise.all([
      call('POST', '/v1/subscriptions', { customer_id: customer.id, plan_code: 'p', amount: 1, currency: 'USD' }),
      call('POST', '/v1/wallets', { customer_id: customer.id, currency: 'USD' }),
      call('POST', '/v1/invoices', { customer_id: customer.id, currency: 'USD', lines: [{ description: 'x', unit_amount: 1 }] }),
      call('POST', '/v1/applied_coupons', { customer_id: customer.id, coupon_code: 'c', percent_off: 1 }),
      call('POST', '/v1/payments', { customer_id: customer.id, amount: 1, currency: 'USD' }),
    ]);
    for (const attempt of attempts) {
      expect(attempt.status).toBe(409);
      expect(attempt.body.error.param).toBe('customer_id');
    }
  });
});
