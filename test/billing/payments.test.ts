import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestApi, type TestApi } from '../support/harness.js';
import { address, mailTo, type CaughtEmail } from '../support/messaging.js';

describe('payments', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.stop());

  async function setup(name = 'Payments') {
    const merchant = await api.merchant(name);
    const key = merchant.sandboxKey;
    const call = (method: string, path: string, body?: unknown) => api.request(method, path, { key, body });
    const { body: customer } = await call('POST', '/v1/customers', { email: `${name.toLowerCase().replace(/\W/g, '')}@example.com`, currency: 'USD' });
    const events = (type?: string) =>
      api.runtime.db.event.findMany({ where: { merchantId: merchant.merchantId, ...(type && { type }) }, orderBy: { id: 'asc' } });
    return { ...merchant, key, call, customer, events };
  }

  it('records a payment with its source and emits the payment event contract', async () => {
    const { call, customer, events } = await setup('Contract');
    const created = await call('POST', '/v1/payments', {
      customer_id: customer.id,
      amount: 1999,
      currency: 'usd',
      status: 'succeeded',
      source: 'payment_link',
      source_id: 'plink_1',
      source_description: 'Spring sale',
      paid_at: '2026-11-01T10:00:00Z',
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^pay_/),
      object: 'payment',
      customer_id: customer.id,
      amount: 1999,
      amount_refunded: 0,
      currency: 'USD',
      status: 'succeeded',
      source: 'payment_link',
      source_id: 'plink_1',
      source_description: 'Spring sale',
      paid_at: '2026-11-01T10:00:00.000Z',
      created: expect.any(String),
    });
    const recorded = (await events()).filter((event) => event.type.startsWith('payment.'));
    expect(recorded.map((event) => event.type)).toEqual(['payment.created', 'payment.succeeded']);
    for (const event of recorded) {
      expect(event.customerId).toBe(customer.id);
      expect(event.data).toEqual({ object: created.body });
    }
  });

  it('moves pending to succeeded or failed once, with one event each', async () => {
    const { call, customer, events } = await setup('Transitions');
    const pending = await call('POST', '/v1/payments', { customer_id: customer.id, amount: 500, currency: 'USD' });
    expect(pending.body).toMatchObject({ status: 'pending', source: 'api', paid_at: null });
    const succeeded = await call('POST', `/v1/payments/${pending.body.id}/succeed`, {});
    expect(succeeded.status).toBe(200);
    expect(succeeded.body.status).toBe('succeeded');
    expect(succeeded.body.paid_at).not.toBeNull();
    expect((await call('POST', `/v1/payments/${pending.body.id}/succeed`, {})).status).toBe(409);
    expect((await call('POST', `/v1/payments/${pending.body.id}/fail`)).status).toBe(409);

    const other = await call('POST', '/v1/payments', { customer_id: customer.id, amount: 700, currency: 'USD' });
    const failed = await call('POST', `/v1/payments/${other.body.id}/fail`);
    expect(failed.body).toMatchObject({ status: 'failed', paid_at: null });
    const createdFailed = await call('POST', '/v1/payments', { amount: 100, currency: 'USD', status: 'failed' });
    expect(createdFailed.body.customer_id).toBeNull();

    const types = (await events()).filter((e) => e.type.startsWith('payment.')).map((e) => `${e.type}:${(e.data as any).object.id}`);
    expect(types).toEqual([
      `payment.created:${pending.body.id}`,
      `payment.succeeded:${pending.body.id}`,
      `payment.created:${other.body.id}`,
      `payment.failed:${other.body.id}`,
      `payment.created:${createdFailed.body.id}`,
      `payment.failed:${createdFailed.body.id}`,
    ]);
    const bad = await call('POST', '/v1/payments', { amount: 100, currency: 'USD', status: 'pending', paid_at: '2026-01-01T00:00:00Z' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe('paid_at');
    expect((await call('POST', '/v1/payments', { amount: 100, currency: 'USD', status: 'refunded' })).status).toBe(400);
    expect((await call('POST', '/v1/payments', { amount: 1.5, currency: 'USD' })).status).toBe(400);
  });

  it('refunds partially then fully, never beyond the amount, with the refund in the event', async () => {
    const { call, customer, events } = await setup('Refunds');
    const { body: payment } = await call('POST', '/v1/payments', { customer_id: customer.id, amount: 1000, currency: 'USD', status: 'succeeded' });
    const first = await call('POST', `/v1/payments/${payment.id}/refunds`, { amount: 300, reason: 'damaged' });
    expect(first.status).toBe(201);
    expect(first.body).toEqual({
      id: expect.stringMatching(/^re_/),
      object: 'refund',
      payment_id: payment.id,
      amount: 300,
      reason: 'damaged',
      credit_note_id: null,
      created: expect.any(String),
    });
    const over = await call('POST', `/v1/payments/${payment.id}/refunds`, { amount: 701 });
    expect(over.status).toBe(400);
    expect(over.body.error.param).toBe('amount');
    const rest = await call('POST', `/v1/payments/${payment.id}/refunds`, { amount: 700 });
    expect(rest.status).toBe(201);
    const after = await call('GET', `/v1/payments/${payment.id}`);
    expect(after.body).toMatchObject({ status: 'refunded', amount_refunded: 1000 });
    expect((await call('POST', `/v1/payments/${payment.id}/refunds`, { amount: 1 })).status).toBe(409);

    const refundEvents = (await events()).filter((e) => e.type === 'payment.partially_refunded' || e.type === 'payment.refunded');
    expect(refundEvents.map((e) => e.type)).toEqual(['payment.partially_refunded', 'payment.refunded']);
    expect(refundEvents[0]!.data).toEqual({
      object: { ...payment, status: 'partially_refunded', amount_refunded: 300 },
      refund: first.body,
    });
    expect(refundEvents[1]!.data).toEqual({ object: after.body, refund: rest.body });
    expect((await call('GET', `/v1/payments/${payment.id}/refunds`)).body.data.map((r: any) => r.amount)).toEqual([700, 300]);

    const pending = await call('POST', '/v1/payments', { customer_id: customer.id, amount: 100, currency: 'USD' });
    expect((await call('POST', `/v1/payments/${pending.body.id}/refunds`, { amount: 50 })).status).toBe(409);
  });

  it('records refunds against a credit note of the same customer, within the credit note', async () => {
    const { call, customer } = await setup('Credit refunds');
    const { body: draft } = await call('POST', '/v1/invoices', {
      customer_id: customer.id,
      currency: 'USD',
      lines: [{ description: 'Workshop', unit_amount: 5000 }],
    });
    const { body: invoice } = await call('POST', `/v1/invoices/${draft.id}/finalize`);
    const { body: payment } = await call('POST', '/v1/payments', {
      customer_id: customer.id,
      amount: 5000,
      currency: 'USD',
      status: 'succeeded',
      source: 'invoice',
      source_id: invoice.id,
    });
    const { body: note } = await call('POST', '/v1/credit_notes', { invoice_id: invoice.id, amount: 2000, reason: 'product_unsatisfactory' });
    const tooMuch = await call('POST', `/v1/payments/${payment.id}/refunds`, { amount: 2001, credit_note_id: note.id });
    expect(tooMuch.status).toBe(400);
    const refund = await call('POST', `/v1/payments/${payment.id}/refunds`, { amount: 2000, credit_note_id: note.id });
    expect(refund.status).toBe(201);
    expect(refund.body.credit_note_id).toBe(note.id);
    expect((await call('GET', `/v1/credit_notes/${note.id}`)).body.refunded_amount).toBe(2000);

    const { body: stranger } = await call('POST', '/v1/customers', { currency: 'USD' });
    const { body: strangersPayment } = await call('POST', '/v1/payments', { customer_id: stranger.id, amount: 900, currency: 'USD', status: 'succeeded' });
    const wrong = await call('POST', `/v1/payments/${strangersPayment.id}/refunds`, { amount: 1, credit_note_id: note.id });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.param).toBe('credit_note_id');
  });

  it("lists a customer's payments with their source fields, filtered by source", async () => {
    const { call, customer } = await setup('Sources');
    for (const source of ['payment_link', 'invoice', 'subscription', 'checkout', 'api']) {
      const created = await call('POST', '/v1/payments', {
        customer_id: customer.id,
        amount: 100,
        currency: 'USD',
        status: 'succeeded',
        source,
        source_id: `${source}_1`,
        source_description: `via ${source}`,
      });
      expect(created.status).toBe(201);
    }
    const all = await call('GET', `/v1/customers/${customer.id}/payments`);
    expect(all.body.total).toBe(5);
    const checkout = await call('GET', `/v1/customers/${customer.id}/payments?source=checkout`);
    expect(checkout.body.data).toEqual([
      expect.objectContaining({ source: 'checkout', source_id: 'checkout_1', source_description: 'via checkout' }),
    ]);
    const filtered = await call('GET', `/v1/payments?customer_id=${customer.id}&source=invoice&status=succeeded`);
    expect(filtered.body.data.map((p: any) => p.source)).toEqual(['invoice']);
    expect((await call('GET', `/v1/customers/${customer.id}/payments?source=cash`)).status).toBe(400);
  });

  it("keeps tenants apart: another merchant's payment or customer is not found", async () => {
    const a = await setup('Tenant A');
    const b = await setup('Tenant B');
    const { body: payment } = await a.call('POST', '/v1/payments', { customer_id: a.customer.id, amount: 100, currency: 'USD' });
    expect((await b.call('GET', `/v1/payments/${payment.id}`)).status).toBe(404);
    expect((await b.call('POST', `/v1/payments/${payment.id}/succeed`, {})).status).toBe(404);
    const foreign = await b.call('POST', '/v1/payments', { customer_id: a.customer.id, amount: 100, currency: 'USD' });
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.param).toBe('customer_id');
    const live = await api.request('GET', `/v1/payments/${payment.id}`, { key: a.liveKey });
    expect(live.status).toBe(404);
  });
  /** The customer's emails once `count` arrived, by subject. */
  async function mailOf(to: string, count: number): Promise<CaughtEmail[]> {
    return eventually(async () => {
      const mail = await mailTo(to);
      return mail.length >= count ? mail : undefined;
    }, 30_000, `${count} emails to ${to}`);
  }

  it('says on a receipt what was paid for, from its source, and gives the merchant support address', async () => {
    const { call } = await setup('Receipts shop');
    expect((await call('PATCH', '/v1/settings', { support_email: 'help@shop.example' })).body).toMatchObject({ support_email: 'help@shop.example' });
    const email = address('receipt');
    const { body: customer } = await call('POST', '/v1/customers', { email, name: 'Rita', currency: 'USD' });
    const { body: draft } = await call('POST', '/v1/invoices', {
      customer_id: customer.id,
      currency: 'USD',
      lines: [
        { description: 'Seats', quantity: 3, unit_amount: 400 },
        { description: 'Onboarding call', unit_amount: 2500 },
      ],
    });
    const { body: invoice } = await call('POST', `/v1/invoices/${draft.id}/finalize`);
    const { body: subscription } = await call('POST', '/v1/subscriptions', { customer_id: customer.id, plan_code: 'pro', amount: 4900, currency: 'USD' });
    const paid = async (extra: object) =>
      (await call('POST', '/v1/payments', { customer_id: customer.id, amount: 1000, currency: 'USD', status: 'succeeded', ...extra })).body;
    const byInvoice = await paid({ amount: invoice.total, source: 'invoice', source_id: invoice.id });
    await paid({ source: 'subscription', source_id: subscription.id });
    await paid({});
    expect((await call('POST', `/v1/payments/${byInvoice.id}/refunds`, { amount: 400 })).status).toBe(201);

    const mail = await mailOf(email, 4);
    const receipt = (text: string) => mail.find((m) => m.subject.startsWith('Receipt') && m.text.includes(text));
    const ofInvoice = receipt(`Paid for: Invoice ${invoice.number}`);
    expect(ofInvoice?.text).toContain('Seats \u00d7 3: $12.00');
    expect(ofInvoice?.text).toContain('Onboarding call: $25.00');
    expect(ofInvoice?.html).toContain(`Invoice ${invoice.number}`);
    expect(receipt('Paid for: The pro plan, billed monthly')).toBeDefined();
    expect(receipt('Paid for: A payment to Receipts shop')).toBeDefined();
    expect(mail.some((m) => /Paid for: Payment\b/.test(m.text))).toBe(false);
    const notice = mail.find((m) => m.subject.startsWith('Refund'));
    expect(notice?.text).toContain(`Original payment: $37.00 (Invoice ${invoice.number})`);
    // The support address on every one of them, and replies go there.
    expect(mail).toHaveLength(4);
    for (const sent of mail) {
      expect(sent.text).toContain('Questions? Write to Receipts shop at help@shop.example.');
      expect(sent.html).toContain('help@shop.example');
      expect(sent.headers['reply-to']).toBe('help@shop.example');
    }
  });

  it("names the merchant when it has no support address, and never shows another tenant's invoice", async () => {
    const owner = await setup('Invoice owner');
    const { body: draft } = await owner.call('POST', '/v1/invoices', { customer_id: owner.customer.id, currency: 'USD', lines: [{ description: 'Secret work', unit_amount: 999 }] });
    const { body: invoice } = await owner.call('POST', `/v1/invoices/${draft.id}/finalize`);
    const { call } = await setup('Plain shop');
    const email = address('plain');
    const { body: customer } = await call('POST', '/v1/customers', { email, currency: 'USD' });
    await call('POST', '/v1/payments', { customer_id: customer.id, amount: 999, currency: 'USD', status: 'succeeded', source: 'invoice', source_id: invoice.id });
    const [receipt] = await mailOf(email, 1);
    expect(receipt!.text).toContain(`Paid for: Invoice ${invoice.id}`);
    expect(receipt!.text).not.toContain('Secret work');
    expect(receipt!.text).not.toContain(invoice.number);
    expect(receipt!.text).toContain('Questions? Contact Plain shop.');
    expect(receipt!.headers['reply-to']).toBeUndefined();
  });
});
