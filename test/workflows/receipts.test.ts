import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIds } from '../../workflows/definitions.js';
import { recordEvents } from '../../src/events/outbox.js';
import { serializePayment } from '../../src/billing/payments/payment.serializer.js';
import { newId } from '../../src/lib/ids.js';
import { PROJECT_ROOT } from '../../src/lib/paths.js';
import { launchChromium } from '../support/chromium.js';
import { eventually, startTestApi, type TestApi } from '../support/harness.js';
import { address, mailTo, sleep } from '../support/messaging.js';

/** Screenshots for a person to look at; gitignored, never asserted on. */
const ARTIFACTS = join(PROJECT_ROOT, 'test-artifacts');

describe('receipts and refund notices: one email per payment and per refund, exactly once', () => {
  let api: TestApi;
  let browser: Browser;

  beforeAll(async () => {
    api = await startTestApi();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await api?.stop();
  });

  async function succeededPayment(merchantId: string, customerId: string | null, amount: bigint, currency: string, description: string | null) {
    return api.runtime.db.$transaction(async (tx) => {
      const payment = await tx.payment.create({
        data: {
          id: newId('payment'),
          merchantId,
          environment: 'sandbox',
          customerId,
          amount,
          currency,
          status: 'succeeded',
          source: 'payment_link',
          sourceId: 'plink_123',
          sourceDescription: description,
          paidAt: new Date('2026-11-27T23:30:00Z'),
        },
      });
      await recordEvents(tx, { merchantId, environment: 'sandbox' }, [{ type: 'payment.succeeded', object: serializePayment(payment), customerId }]);
      return payment;
    });
  }

  const receipts = (merchantId: string) => api.runtime.db.message.findMany({ where: { merchantId }, orderBy: { id: 'asc' } });

  it('a succeeded payment sends its customer one receipt: the amount in its currency, what it paid for, the date in their zone', async () => {
    const { sandboxKey: key, merchantId } = await api.merchant('Chromium Yoga');
    const email = address('receipt');
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: { email, name: 'Ada', timezone: 'Asia/Tokyo' } });
    const payment = await succeededPayment(merchantId, customer.id, 1250n, 'EUR', 'Yoga class, 10 sessions');

    const [receipt] = await eventually(async () => {
      const caught = await mailTo(email);
      return caught.length > 0 ? caught : undefined;
    }, 30_000, 'the receipt');
    expect(receipt!.subject).toBe('Receipt from Chromium Yoga: €12.50');
    expect(receipt!.text).toContain('Amount paid: €12.50');
    expect(receipt!.headers['list-unsubscribe'], 'a receipt is transactional').toBeUndefined();

    // The HTML part as a person sees it, rendered by Chromium.
    const page = await browser.newPage();
    await page.setContent(receipt!.html);
    const visible = (await page.locator('body').innerText()).replace(/\s+/g, ' ');
    expect(visible).toContain('Receipt from Chromium Yoga');
    expect(visible).toContain('Hi Ada, thank you for your payment.');
    expect(visible).toContain('Amount paid €12.50');
    expect(visible).toContain('Paid for Yoga class, 10 sessions');
    // 23:30 UTC on the 27th is 08:30 on the 28th in Tokyo.
    expect(visible).toContain('Date November 28, 2026 at 8:30 AM GMT+9');
    expect(visible).toContain(`Receipt number ${payment.id}`);
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'receipt.png'), fullPage: true });
    await page.close();

    const [record] = await receipts(merchantId);
    expect(record).toMatchObject({ kind: 'receipt', status: 'sent', idempotencyKey: `receipt:${payment.id}`, recipient: email, attempts: 1 });
    expect(record!.providerMessageId).toBe(receipt!.headers['message-id']);
    const run = await api.runtime.temporal.workflow.getHandle(workflowIds.messageQueue(merchantId)).describe();
    expect(run.type).toBe('messageQueueWorkflow');
  });

  it("erasing a customer scrubs the address, subject and rendered facts of their messages, keeping the rows", async () => {
    const { sandboxKey: key, merchantId } = await api.merchant('Erasure');
    const email = address('erased');
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: { email } });
    await succeededPayment(merchantId, customer.id, 4200n, 'EUR', 'Something personal');
    await eventually(async () => ((await receipts(merchantId))[0]?.status === 'sent' ? true : undefined), 30_000, 'the receipt');
    await api.runtime.db.$transaction((tx) => api.runtime.services.messages.eraseCustomer(tx, customer.id));
    const [erased] = await receipts(merchantId);
    expect(erased).toMatchObject({ status: 'sent', recipient: null, subject: null, data: null, kind: 'receipt' });
    expect(erased!.sentAt).not.toBeNull();
  });

  it('a re-delivered payment.succeeded (a second event, a relay hand-over repeated) sends no second receipt', async () => {
    const { sandboxKey: key, merchantId } = await api.merchant('Twice');
    const email = address('twice');
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: { email } });
    const payment = await succeededPayment(merchantId, customer.id, 990n, 'USD', null);
    await eventually(async () => ((await mailTo(email)).length === 1 ? true : undefined), 30_000, 'the receipt');

    await api.runtime.db.$transaction((tx) =>
      recordEvents(tx, { merchantId, environment: 'sandbox' }, [{ type: 'payment.succeeded', object: serializePayment(payment), customerId: customer.id }]),
    );
    await api.runtime.db.event.updateMany({ where: { merchantId, type: 'payment.succeeded' }, data: { dispatchedAt: null } });
    await eventually(async () => ((await api.runtime.db.event.count({ where: { merchantId, dispatchedAt: null } })) === 0 ? true : undefined));
    await sleep(2_000);
    expect((await mailTo(email)).map((m) => m.subject)).toEqual(['Receipt from Twice: $9.90']);
    expect(await receipts(merchantId)).toHaveLength(1);
  });

  it('a refund sends a refund notice, once per refund', async () => {
    const { sandboxKey: key, merchantId } = await api.merchant('Refunds');
    const email = address('refund');
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: { email, name: 'Bo' } });
    const payment = await succeededPayment(merchantId, customer.id, 12_000n, 'JPY', 'Monthly plan');
    const refund = async () =>
      api.runtime.db.$transaction(async (tx) => {
        const row = await tx.refund.create({
          data: { id: newId('refund'), merchantId, environment: 'sandbox', paymentId: payment.id, amount: 2_000n, reason: 'requested_by_customer' },
        });
        const updated = await tx.payment.update({ where: { id: payment.id }, data: { amountRefunded: { increment: 2_000n }, status: 'partially_refunded' } });
        const refundObject = {
          id: row.id,
          object: 'refund',
          payment_id: payment.id,
          amount: 2000,
          reason: row.reason,
          credit_note_id: null,
          created: row.createdAt.toISOString(),
        };
        await recordEvents(tx, { merchantId, environment: 'sandbox' }, [
          { type: 'payment.partially_refunded', object: serializePayment(updated), customerId: customer.id, extra: { refund: refundObject } },
        ]);
        return row;
      });
    const first = await refund();
    const second = await refund();
    const caught = await eventually(async () => {
      const all = await mailTo(email);
      return all.length >= 3 ? all : undefined;
    }, 30_000, 'a receipt and two refund notices');
    expect(caught.map((m) => m.subject).sort()).toEqual(['Receipt from Refunds: ¥12,000', 'Refund from Refunds: ¥2,000', 'Refund from Refunds: ¥2,000']);
    expect(caught.find((m) => m.subject.startsWith('Refund'))!.text).toContain('Reason: requested_by_customer');
    const keys = (await receipts(merchantId)).map((m) => m.idempotencyKey).sort();
    expect(keys).toEqual([`receipt:${payment.id}`, `refund-notice:${first.id}`, `refund-notice:${second.id}`].sort());
  });

  it('through the payments API: a pending payment marked succeeded gets one receipt, each refund its notice, a failed payment nothing', async () => {
    const { sandboxKey: key, merchantId } = await api.merchant('Payments API');
    const email = address('payments-api');
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: { email, name: 'Cy', timezone: 'Europe/Paris' } });
    const { body: pending } = await api.request('POST', '/v1/payments', {
      key,
      body: { customer_id: customer.id, amount: 4999, currency: 'USD', source: 'checkout', source_description: 'Annual plan' },
    });
    const { body: failed } = await api.request('POST', '/v1/payments', { key, body: { customer_id: customer.id, amount: 100, currency: 'USD' } });
    expect((await api.request('POST', `/v1/payments/${failed.id}/fail`, { key })).status).toBe(200);
    expect((await api.request('POST', `/v1/payments/${pending.id}/succeed`, { key, body: { paid_at: '2026-07-14T10:00:00Z' } })).status).toBe(200);
    for (const amount of [999, 4000]) {
      const refunded = await api.request('POST', `/v1/payments/${pending.id}/refunds`, { key, body: { amount, reason: 'duplicate' } });
      expect(refunded.status, JSON.stringify(refunded.body)).toBe(201);
    }
    const caught = await eventually(async () => {
      const all = await mailTo(email);
      return all.length >= 3 ? all : undefined;
    }, 30_000, 'a receipt and two refund notices');
    expect(caught.map((m) => m.subject).sort()).toEqual([
      'Receipt from Payments API: $49.99',
      'Refund from Payments API: $40.00',
      'Refund from Payments API: $9.99',
    ]);
    expect(caught.find((m) => m.subject.startsWith('Receipt'))!.text).toContain('Date: July 14, 2026 at 12:00 PM GMT+2');
    await sleep(1_000);
    expect(await mailTo(email)).toHaveLength(3);
    expect((await receipts(merchantId)).map((m) => m.kind).sort()).toEqual(['receipt', 'refund_notice', 'refund_notice']);
  });

  it("a sandbox key's settings change the sandbox receipts only: live receipts keep the live name and time zone", async () => {
    const { sandboxKey, liveKey } = await api.merchant('Two environments');
    await api.request('PATCH', '/v1/settings', { key: liveKey, body: { name: 'Live Shop', timezone: 'Asia/Tokyo' } });
    // What a leaked test key could do: rename the shop and move its clock.
    const leaked = await api.request('PATCH', '/v1/settings', { key: sandboxKey, body: { name: 'Leaked Key Shop', timezone: 'America/New_York' } });
    expect(leaked.body).toMatchObject({ environment: 'sandbox', name: 'Leaked Key Shop' });
    expect((await api.request('GET', '/v1/settings', { key: liveKey })).body).toMatchObject({ environment: 'live', name: 'Live Shop', timezone: 'Asia/Tokyo' });

    const receiptIn = async (key: string) => {
      const email = address('two-environments');
      const { body: customer } = await api.request('POST', '/v1/customers', { key, body: { email } });
      const paid = await api.request('POST', '/v1/payments', {
        key,
        body: { customer_id: customer.id, amount: 1200, currency: 'EUR', status: 'succeeded', paid_at: '2026-07-14T10:00:00Z' },
      });
      expect(paid.status, JSON.stringify(paid.body)).toBe(201);
      const [receipt] = await eventually(async () => {
        const caught = await mailTo(email);
        return caught.length > 0 ? caught : undefined;
      }, 30_000, 'the receipt');
      return receipt!;
    };
    const live = await receiptIn(liveKey);
    expect(live.subject).toBe('Receipt from Live Shop: €12.00');
    expect(live.text).toContain('Date: July 14, 2026 at 7:00 PM GMT+9');
    const sandbox = await receiptIn(sandboxKey);
    expect(sandbox.subject).toBe('Receipt from Leaked Key Shop: €12.00');
    expect(sandbox.text).toContain('Date: July 14, 2026 at 6:00 AM EDT');
  });

  it('records a receipt it cannot send: no email address is skipped; a payment without customer sends nothing', async () => {
    const { sandboxKey: key, merchantId } = await api.merchant('No address');
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: { name: 'No email' } });
    const payment = await succeededPayment(merchantId, customer.id, 500n, 'GBP', null);
    await succeededPayment(merchantId, null, 700n, 'GBP', null);
    const [skipped] = await eventually(async () => {
      const rows = await receipts(merchantId);
      return rows[0]?.status === 'skipped' ? rows : undefined;
    });
    expect(skipped).toMatchObject({ idempotencyKey: `receipt:${payment.id}`, skipReason: 'no email address' });
    expect(await receipts(merchantId)).toHaveLength(1);
  });

  it('a receipt whose send was cut off (left sending past its lease) becomes unknown and is never sent again', async () => {
    const { sandboxKey: key, merchantId } = await api.merchant('Cut off');
    const email = address('cutoff');
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: { email } });
    const paymentId = newId('payment');
    // What a worker that died during the SMTP conversation leaves behind.
    await api.runtime.db.message.create({
      data: {
        id: newId('message'),
        merchantId,
        environment: 'sandbox',
        customerId: customer.id,
        kind: 'receipt',
        channel: 'email',
        idempotencyKey: `receipt:${paymentId}`,
        status: 'sending',
        recipient: email,
        attempts: 1,
        lockedUntil: new Date(Date.now() - 1_000),
        nextAttemptAt: new Date(Date.now() - 60_000),
      },
    });
    await api.runtime.db.$transaction(async (tx) => {
      const payment = await tx.payment.create({
        data: { id: paymentId, merchantId, environment: 'sandbox', customerId: customer.id, amount: 100n, currency: 'EUR', status: 'succeeded', source: 'api' },
      });
      await recordEvents(tx, { merchantId, environment: 'sandbox' }, [{ type: 'payment.succeeded', object: serializePayment(payment), customerId: customer.id }]);
    });
    const [row] = await eventually(async () => {
      const rows = await receipts(merchantId);
      return rows[0]?.status === 'unknown' ? rows : undefined;
    });
    expect(row!.error).toMatch(/interrupted/);
    await sleep(1_500);
    expect(await mailTo(email)).toEqual([]);
  });
});
