import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serializeEvent } from '../../src/events/event.serializer.js';
import { operationsRouter } from '../../src/http/router.js';
import { address, emailStep, mailTo } from '../support/messaging.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { eventually, startTestApi, type TestApi } from '../support/harness.js';

// A full collection before each heap sample, so the samples measure what is held, not garbage.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const byId = (rows: { id: string }[]) => [...rows].sort((a, b) => a.id.localeCompare(b.id));

describe('customer export (the right of access)', () => {
  let api: TestApi;
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await Promise.all(receivers.map((receiver) => receiver.stop()));
    await api.stop();
  });

  async function setup(name: string) {
    const merchant = await api.merchant(name);
    const call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
      api.request(method, path, { key: merchant.sandboxKey, body, headers });
    return { ...merchant, call };
  }

  const list = async (call: (method: string, path: string) => Promise<{ body: any }>, path: string) => byId((await call('GET', path)).body.data);

  /** A customer with one of everything, written through the API and settled (mail sent, webhooks delivered). */
  async function customerWithEverything() {
    const merchant = await setup('Export');
    const { call } = merchant;
    expect((await call('PATCH', '/v1/settings', { support_email: 'help@export.example' })).status).toBe(200);
    const receiver = await startReceiver([200]);
    receivers.push(receiver);
    const endpoint = (await call('POST', '/v1/webhook_endpoints', { url: receiver.url, enabled_events: ['customer.created', 'payment.succeeded'] })).body;
    const tag = `export-${randomUUID().slice(0, 8)}`;
    const sequence = (await call('POST', '/v1/sequences', { name: 'Welcome', trigger_tag: tag, steps: [emailStep('Welcome aboard', '0s', { template: { subject: 'Welcome aboard', text: 'Welcome, {{ customer.name }}.', html: '<p>Welcome</p>' } })] })).body;
    const email = address('export');
    const created = await call('POST', '/v1/customers', {
      email,
      name: 'Ada Export',
      currency: 'USD',
      tax_id: 'FR123',
      address: { line1: '1 Rue de la Paix', city: 'Paris', postal_code: '75002', country: 'FR' },
      tags: [tag],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const customer = created.body;
    const subscription = (await call('POST', '/v1/subscriptions', { customer_id: customer.id, plan_code: 'pro', amount: 4900, currency: 'USD' })).body;
    const coupon = (await call('POST', '/v1/applied_coupons', { customer_id: customer.id, coupon_code: 'LOYAL', percent_off: 10, frequency: 'forever' })).body;
    const draft = (await call('POST', '/v1/invoices', { customer_id: customer.id, currency: 'USD', lines: [{ description: 'Setup', unit_amount: 2500 }] })).body;
    const invoice = (await call('POST', `/v1/invoices/${draft.id}/finalize`)).body;
    expect(invoice.status).toBe('finalized');
    const creditNote = await call('POST', '/v1/credit_notes', { invoice_id: invoice.id, amount: 500, reason: 'other' });
    expect(creditNote.status, JSON.stringify(creditNote.body)).toBe(201);
    const payment = (await call('POST', '/v1/payments', { customer_id: customer.id, amount: 2500, currency: 'USD', status: 'succeeded', source: 'invoice', source_id: invoice.id })).body;
    const refund = await call('POST', `/v1/payments/${payment.id}/refunds`, { amount: 300, reason: 'goodwill' });
    expect(refund.status).toBe(201);
    const wallet = (await call('POST', '/v1/wallets', { customer_id: customer.id, currency: 'USD', granted_credits: 20 })).body;
    expect((await call('POST', `/v1/wallets/${wallet.id}/transactions`, { type: 'granted', credits: 5 })).status).toBe(201);

    // Settled: the welcome email and the receipt sent, every delivery delivered.
    await eventually(async () => {
      const messages = (await call('GET', `/v1/customers/${customer.id}/messages`)).body.data;
      return messages.length >= 3 && messages.every((message: any) => message.status === 'sent') ? true : undefined;
    }, 30_000, 'the messages sent');
    await eventually(async () => {
      const deliveries = (await call('GET', `/v1/webhook_endpoints/${endpoint.id}/deliveries`)).body.data;
      return deliveries.length === 2 && deliveries.every((delivery: any) => delivery.status === 'succeeded') ? true : undefined;
    }, 30_000, 'the deliveries delivered');
    await eventually(async () => ((await call('GET', `/v1/customers/${customer.id}/enrollments`)).body.data[0]?.status === 'completed' ? true : undefined));
    // The sequence email's footer carries the merchant's support address beside the unsubscribe link.
    const welcome = (await mailTo(email)).find((mail) => mail.subject === 'Welcome aboard');
    expect(welcome?.text).toMatch(/--\nQuestions\? help@export\.example\nUnsubscribe: http/);
    expect(welcome?.html).toContain('Questions? <a href="mailto:help@export.example">help@export.example</a> · <a href="http');
    return { ...merchant, customer, subscription, coupon, invoice, payment, wallet, endpoint, sequence, email };
  }

  /** Everything the API answers about the customer, section by section, as the export should show it. */
  async function throughTheApi(call: (method: string, path: string) => Promise<{ body: any }>, customerId: string, endpointId: string) {
    const payments = await list(call, `/v1/payments?customer_id=${customerId}`);
    const refunds = byId((await Promise.all(payments.map((payment) => list(call, `/v1/payments/${payment.id}/refunds`)))).flat());
    return {
      subscriptions: await list(call, `/v1/subscriptions?customer_id=${customerId}`),
      applied_coupons: await list(call, `/v1/applied_coupons?customer_id=${customerId}`),
      payments,
      refunds,
      invoices: await list(call, `/v1/invoices?customer_id=${customerId}`),
      credit_notes: await list(call, `/v1/credit_notes?customer_id=${customerId}`),
      wallets: await list(call, `/v1/wallets?customer_id=${customerId}`),
      wallet_transactions: await list(call, `/v1/wallet_transactions?customer_id=${customerId}`),
      webhook_deliveries: await list(call, `/v1/webhook_endpoints/${endpointId}/deliveries`),
    };
  }

  it('exports everything written through the API, with the API field names, then what erasure kept', async () => {
    const fixture = await customerWithEverything();
    const { call, customer, endpoint } = fixture;

    const exported = await call('POST', `/v1/customers/${customer.id}/export`);
    expect(exported.status, JSON.stringify(exported.body)).toBe(200);
    expect(exported.headers.get('content-type')).toMatch(/^application\/json/);
    expect(exported.headers.get('content-disposition')).toBe(`attachment; filename="customer-export-${customer.id}.json"`);
    expect(exported.headers.get('cache-control')).toBe('no-store');
    const document = exported.body;
    expect(Object.keys(document)).toEqual([
      'object', 'exported_at', 'erased', 'erased_at', 'kept', 'customer', 'subscriptions', 'applied_coupons', 'payments', 'refunds',
      'invoices', 'credit_notes', 'wallets', 'wallet_transactions', 'sequence_enrollments', 'messages', 'opt_outs', 'suppressions',
      'events', 'webhook_deliveries',
    ]);
    expect(document).toMatchObject({ object: 'customer_export', erased: false, erased_at: null, kept: null });
    expect(document.customer).toEqual((await call('GET', `/v1/customers/${customer.id}`)).body);

    const answered = await throughTheApi(call, customer.id, endpoint.id);
    for (const [section, objects] of Object.entries(answered)) expect(document[section], section).toEqual(objects);
    expect(document.subscriptions.map((s: any) => s.id)).toEqual([fixture.subscription.id]);
    expect(document.payments.map((p: any) => p.id)).toEqual([fixture.payment.id]);
    expect(document.refunds).toEqual([expect.objectContaining({ amount: 300, reason: 'goodwill' })]);
    expect(document.invoices.map((i: any) => i.id)).toEqual([fixture.invoice.id]);
    expect(document.credit_notes).toEqual([expect.objectContaining({ invoice_id: fixture.invoice.id, amount: 500 })]);
    expect(document.wallet_transactions.map((t: any) => [t.type, t.credits])).toEqual([['granted', 20], ['granted', 5]]);
    expect(document.webhook_deliveries.map((d: any) => d.event_type).sort()).toEqual(['customer.created', 'payment.succeeded']);

    // Enrolment and messages as their lists show them, the messages with what they were rendered from.
    expect(document.sequence_enrollments).toEqual(await list(call, `/v1/customers/${customer.id}/enrollments`));
    expect(document.sequence_enrollments).toEqual([expect.objectContaining({ sequence_id: fixture.sequence.id, status: 'completed' })]);
    const messages = await list(call, `/v1/customers/${customer.id}/messages`);
    expect(document.messages.map(({ rendered_data, ...message }: any) => message)).toEqual(messages);
    const welcome = document.messages.find((m: any) => m.kind === 'sequence');
    expect(welcome).toMatchObject({ recipient: fixture.email, subject: 'Welcome aboard', status: 'sent' });
    const receipt = document.messages.find((m: any) => m.kind === 'receipt');
    expect(receipt.rendered_data.payment).toMatchObject({ id: fixture.payment.id, amount: 2500 });
    expect(document.opt_outs).toEqual([]);

    // Events as stored, through the events' own serializer.
    const events = await api.runtime.db.event.findMany({ where: { customerId: customer.id }, orderBy: { id: 'asc' } });
    expect(document.events).toEqual(events.map(serializeEvent));
    expect(document.events.map((e: any) => e.type)).toEqual(expect.arrayContaining(['customer.created', 'subscription.created', 'payment.succeeded', 'invoice.finalized']));
    expect(document.events.find((e: any) => e.type === 'customer.created').data.object).toMatchObject({ id: customer.id, email: fixture.email });

    // Opted out: the opt-out and the suppression of its address are the customer's.
    expect((await call('POST', `/v1/customers/${customer.id}/opt_outs`, { channel: 'email' })).status).toBeLessThan(300);
    const optedOut = (await call('POST', `/v1/customers/${customer.id}/export`)).body;
    expect(optedOut.opt_outs).toEqual((await call('GET', `/v1/customers/${customer.id}/opt_outs`)).body.data);
    expect(optedOut.opt_outs).toEqual([expect.objectContaining({ channel: 'email', source: 'api' })]);
    expect(optedOut.suppressions).toEqual([expect.objectContaining({ object: 'suppression', channel: 'email', source: 'api' })]);

    // After deletion and erasure: what is kept, and the document says so.
    expect((await call('DELETE', `/v1/customers/${customer.id}`)).status).toBe(202);
    await eventually(async () => ((await call('GET', `/v1/customers/${customer.id}/deletion`)).body.status === 'completed' ? true : undefined), 60_000, 'the deletion');
    const after = await call('POST', `/v1/customers/${customer.id}/export`);
    expect(after.status).toBe(200);
    const erased = after.body;
    expect(erased).toMatchObject({ erased: true, erased_at: expect.any(String), kept: expect.stringContaining('billing details') });
    expect(erased.customer).toMatchObject({ id: customer.id, status: 'deleted', email: null, name: null, tax_id: null, address: null, tags: [customer.tags[0]] });
    const kept = await throughTheApi(call, customer.id, endpoint.id);
    for (const [section, objects] of Object.entries(kept)) expect(erased[section], section).toEqual(objects);
    expect(erased.invoices[0].billing_details).toEqual(document.invoices[0].billing_details);
    expect(erased.invoices[0].billing_details).not.toBeNull();
    expect(erased.payments).toEqual([expect.objectContaining({ id: fixture.payment.id, amount: 2500, amount_refunded: 300 })]);
    expect(erased.messages.length).toBe(document.messages.length);
    for (const message of erased.messages) expect(message).toMatchObject({ recipient: null, subject: null, rendered_data: null });
    expect(erased.opt_outs).toEqual(optedOut.opt_outs);
    // The suppression list keeps a hash only: nothing links it to the erased customer any more.
    expect(erased.suppressions).toEqual([]);
    // The name stays only where the law keeps it: the billing details of the invoices and credit notes.
    const withoutLegalRecord = JSON.stringify({
      ...erased,
      invoices: erased.invoices.map(({ billing_details, ...invoice }: any) => invoice),
      credit_notes: erased.credit_notes.map(({ billing_details, ...note }: any) => note),
    });
    expect(withoutLegalRecord).not.toContain(fixture.email);
    expect(withoutLegalRecord).not.toContain('Ada Export');
    expect(erased.credit_notes[0].billing_details.name).toBe('Ada Export');
  });

  it("answers 404 for another merchant's customer, the other environment's, and an unknown one", async () => {
    const owner = await setup('Export owner');
    const intruder = await setup('Export intruder');
    const { body: customer } = await owner.call('POST', '/v1/customers', { email: address('owned'), name: 'Owned' });
    const foreign = await intruder.call('POST', `/v1/customers/${customer.id}/export`);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error).toMatchObject({ type: 'not_found', param: 'id' });
    expect(JSON.stringify(foreign.body)).not.toContain('Owned');
    const live = await api.request('POST', `/v1/customers/${customer.id}/export`, { key: owner.liveKey });
    expect(live.status).toBe(404);
    expect((await owner.call('POST', '/v1/customers/cus_01JD3Z6Q4W8V2G7R1M5K9T0XYZ/export')).status).toBe(404);
    expect((await owner.call('POST', '/v1/customers/nope/export')).status).toBe(404);
    expect((await owner.call('POST', `/v1/customers/${customer.id}/export`, { all: true })).status).toBe(400);
    expect((await owner.call('GET', `/v1/customers/${customer.id}/export`)).status).toBe(405);
  });

  it('is a read under an Idempotency-Key: nothing is stored, a retry exports again', async () => {
    const { call } = await setup('Export keys');
    const { body: customer } = await call('POST', '/v1/customers', { email: address('keyed'), name: 'Before' });
    const headers = { 'Idempotency-Key': `export-${randomUUID()}` };
    const first = await call('POST', `/v1/customers/${customer.id}/export`, undefined, headers);
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBe('false');
    await call('PATCH', `/v1/customers/${customer.id}`, { name: 'After' });
    const again = await call('POST', `/v1/customers/${customer.id}/export`, undefined, headers);
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('false');
    expect([first.body.customer.name, again.body.customer.name]).toEqual(['Before', 'After']);
    expect(await api.runtime.db.idempotencyRecord.count({ where: { key: headers['Idempotency-Key'] } })).toBe(0);
  });

  it('streams 100,000 messages page by page: several chunks, bounded memory, one complete document', async () => {
    const { call, merchantId, sandboxKey } = await setup('Export volume');
    const { body: customer } = await call('POST', '/v1/customers', { email: address('volume'), name: 'Prolific' });
    const count = 100_000;
    const subject = 'x'.repeat(60);
    // Set-based: one statement, ~50 MB of export the API must never hold at once.
    await api.runtime.pool.query(
      `INSERT INTO messages (id, merchant_id, environment, customer_id, kind, channel, idempotency_key, status, recipient, subject, data, attempts, sent_at)
       SELECT 'msg_' || lpad(i::text, 26, '0') || $4, $1, 'sandbox', $2, 'receipt', 'email', $2 || ':volume:' || i, 'sent', $3,
              $5 || i, jsonb_build_object('payment', jsonb_build_object('id', 'pay_' || i, 'note', repeat('y', 60))), 1, now()
       FROM generate_series(1, $6::int) AS i`,
      [merchantId, customer.id, 'volume@example.test', customer.id.slice(-6), subject, count],
    );
    try {
      const streamed = await fetch(`${api.url}/v1/customers/${customer.id}/export`, { method: 'POST', headers: { 'x-api-key': sandboxKey } });
      expect(streamed.status).toBe(200);
      const started = Date.now();
      collectGarbage();
      const baseline = process.memoryUsage().heapUsed;
      let peak = 0;
      let chunks = 0;
      let bytes = 0;
      let messageCount = 0;
      let tail = '';
      const decoder = new TextDecoder();
      const reader = streamed.body!.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        chunks += 1;
        bytes += value.length;
        // Count objects across chunk boundaries without keeping the text.
        const text = tail + decoder.decode(value, { stream: true });
        messageCount += text.split('"object":"message"').length - 1;
        tail = text.slice(-20);
        if (tail.includes('"object":"message"')) tail = '';
        if (chunks % 200 === 0) {
          collectGarbage();
          peak = Math.max(peak, process.memoryUsage().heapUsed - baseline);
        }
      }
      expect(messageCount).toBe(count);
      expect(tail.endsWith(']}')).toBe(true);
      // Arrived in many pieces, and the process (API and test alike) never held the document.
      expect(chunks).toBeGreaterThan(50);
      expect(bytes).toBeGreaterThan(40_000_000);
      // A generous bound: what stays live is a page of rows and the socket's buffer, a few MB.
      expect(peak).toBeLessThan(bytes / 5);
      console.log(
        `export of ${count} messages: ${bytes} bytes in ${chunks} chunks, ${Date.now() - started} ms, live heap growth at most ${(peak / 1e6).toFixed(1)} MB`,
      );
    } finally {
      await api.runtime.pool.query('DELETE FROM messages WHERE customer_id = $1', [customer.id]);
    }
  });

  it('cuts the connection when a streamed reply fails midway: a client never sees a whole document', async () => {
    const operation = {
      method: 'post' as const,
      path: '/broken',
      tag: 'Test',
      summary: 'Fails midway',
      responses: {},
      handle: async () => undefined,
      stream: () => ({
        status: 200,
        chunks: (async function* () {
          yield '{"object":"customer_export","messages":[';
          await new Promise((resolve) => setTimeout(resolve, 20));
          throw new Error('the database went away');
        })(),
      }),
    };
    const app = express();
    app.use(operationsRouter([operation], {}));
    app.use(((_error, _req, res, _next) => {
      if (!res.headersSent) res.status(500).json({});
    }) as express.ErrorRequestHandler);
    const server = app.listen(0);
    try {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/broken`, { method: 'POST' });
      expect(response.status).toBe(200);
      await expect(response.text()).rejects.toThrow();
    } finally {
      server.close();
    }
  });
});
