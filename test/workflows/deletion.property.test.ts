import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { customerDeletionWorkflow } from '../../workflows/customer-deletion.workflow.js';
import { workflowIds } from '../../workflows/definitions.js';
import { startTestApi, type TestApi } from '../support/harness.js';
import { personalDataLeft } from '../support/personal-data.js';

const DAY = 86_400_000;

const subscription = fc.record({
  billing_time: fc.constantFrom('in_advance', 'in_arrears'),
  interval: fc.constantFrom('month', 'year'),
  amount: fc.integer({ min: 0, max: 100_000 }),
  // Negative: starts later (pending); beyond a period: the current period is a later one.
  startDaysAgo: fc.integer({ min: -20, max: 400 }),
});
const wallet = fc.record({
  rate: fc.integer({ min: 1, max: 7 }),
  granted: fc.array(fc.integer({ min: 1, max: 5_000 }), { maxLength: 3 }),
  purchased: fc.array(fc.integer({ min: 1, max: 5_000 }), { maxLength: 2 }),
  voided: fc.array(fc.integer({ min: 1, max: 500 }), { maxLength: 1 }),
  // One-off invoices finalized before the deletion: they consume credits.
  consumedBy: fc.array(fc.integer({ min: 1, max: 20_000 }), { maxLength: 2 }),
});
const lines = fc.array(fc.record({ quantity: fc.integer({ min: 1, max: 4 }), unit_amount: fc.integer({ min: 0, max: 9_000 }) }), {
  minLength: 1,
  maxLength: 3,
});
const coupon = fc.oneof(
  fc.record({ amount_off: fc.integer({ min: 1, max: 3_000 }), frequency: fc.constantFrom('once', 'forever') }),
  fc.record({ percent_off: fc.integer({ min: 1, max: 100 }), frequency: fc.constantFrom('once', 'forever') }),
);
const customerScenario = fc.record({
  coupons: fc.array(coupon, { maxLength: 2 }),
  subscriptions: fc.array(subscription, { maxLength: 4 }),
  wallet: fc.option(wallet, { nil: undefined }),
  drafts: fc.array(lines, { maxLength: 3 }),
});

describe('customer deletion, over random customers', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.stop());

  it('leaves nothing active, every draft finalized, every ledger and total adding up, no personal data', { timeout: 300_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(customerScenario, async (scenario) => {
        const { merchantId, sandboxKey: key } = await api.merchant('Property');
        const call = async (method: string, path: string, body?: unknown, headers?: Record<string, string>) => {
          const response = await api.request(method, path, { key, body, headers });
          if (response.status >= 400) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
          return response.body;
        };
        const token = randomUUID();
        const personal = {
          external_id: `ext-${token}`,
          email: `p-${token}@example.com`,
          name: `Name ${token}`,
          company_name: `Company ${token}`,
          tax_id: `TAX-${token}`,
          description: `About ${token}`,
          metadata: { secret: `meta-${token}` },
          address: { line1: `Street ${token}`, postal_code: `PC-${token.slice(0, 8)}`, country: 'FR' },
        };
        const customer = await call('POST', '/v1/customers', { ...personal, currency: 'EUR' }, { 'Idempotency-Key': `c-${token}` });
        for (const [index, c] of scenario.coupons.entries()) {
          await call('POST', '/v1/applied_coupons', { customer_id: customer.id, coupon_code: `C${index}`, ...c, ...('amount_off' in c && { currency: 'EUR' }) });
        }
        let walletId: string | undefined;
        if (scenario.wallet) {
          const w = scenario.wallet;
          walletId = (await call('POST', '/v1/wallets', { customer_id: customer.id, currency: 'EUR', rate_amount: w.rate })).id;
          for (const credits of w.granted) await call('POST', `/v1/wallets/${walletId}/transactions`, { type: 'granted', credits });
          for (const credits of w.purchased) await call('POST', `/v1/wallets/${walletId}/transactions`, { type: 'purchased', credits });
          for (const amount of w.consumedBy) {
            const draft = await call('POST', '/v1/invoices', { customer_id: customer.id, currency: 'EUR', lines: [{ description: 'Usage', unit_amount: amount }] });
            await call('POST', `/v1/invoices/${draft.id}/finalize`);
          }
          const { credits_balance: balance } = await call('GET', `/v1/wallets/${walletId}`);
          for (const credits of w.voided) if (credits <= balance) await call('POST', `/v1/wallets/${walletId}/transactions`, { type: 'voided', credits });
        }
        for (const s of scenario.subscriptions) {
          await call('POST', '/v1/subscriptions', {
            customer_id: customer.id, plan_code: 'plan', amount: s.amount, currency: 'EUR', interval: s.interval, billing_time: s.billing_time,
            start_date: new Date(Date.now() - s.startDaysAgo * DAY - 60_000).toISOString(),
          });
        }
        for (const draftLines of scenario.drafts) {
          await call('POST', '/v1/invoices', { customer_id: customer.id, currency: 'EUR', lines: draftLines.map((l) => ({ description: 'Work', ...l })) });
        }

        await call('DELETE', `/v1/customers/${customer.id}`);
        const handle = api.runtime.temporal.workflow.getHandle<typeof customerDeletionWorkflow>(workflowIds.customerDeletion(customer.id));
        // A step waiting for action would wait forever: fail with its reason instead.
        let settled = false;
        const needsAction = (async () => {
          while (!settled) {
            const deletion = await api.runtime.db.customerDeletion.findUnique({ where: { customerId: customer.id } });
            if (deletion?.status === 'action_required') return `${deletion.currentStep}: ${deletion.failureReason}`;
            await sleep(200);
          }
          return undefined;
        })();
        const result = await Promise.race([handle.result(), needsAction]);
        settled = true;
        if (result === undefined || typeof result === 'string') throw new Error(`the deletion needs action: ${result}`);
        expect(result.status).toBe('completed');

        const db = api.runtime.db;
        const where = { customerId: customer.id };
        // Nothing active remains, every draft is finalized.
        expect(await db.subscription.count({ where: { ...where, status: { in: ['active', 'pending'] } } })).toBe(0);
        expect(await db.appliedCoupon.count({ where: { ...where, status: 'active' } })).toBe(0);
        expect(await db.wallet.count({ where: { ...where, status: 'active' } })).toBe(0);
        expect(await db.invoice.count({ where: { ...where, status: { not: 'finalized' } } })).toBe(0);
        expect(await db.invoice.count({ where })).toBe(
          scenario.drafts.length + (scenario.wallet?.consumedBy.length ?? 0) + (scenario.wallet?.purchased.length ?? 0) +
            (await db.invoiceLine.count({ where: { invoice: where, subscriptionId: { not: null } } })),
        );
        // Every wallet's ledger adds up: granted + purchased = consumed + voided.
        for (const w of await db.wallet.findMany({ where, include: { transactions: true } })) {
          const sum = (type: string) => w.transactions.filter((t) => t.type === type).reduce((total, t) => total + t.credits, 0n);
          expect(sum('granted') + sum('purchased')).toBe(sum('consumed') + sum('voided'));
          expect(w.creditsBalance).toBe(0n);
          expect(w.transactions.filter((t) => t.type === 'voided').length).toBeLessThanOrEqual(1 + (scenario.wallet?.voided.length ?? 0));
        }
        // Every invoice total = lines - coupons - credits, never negative; credits match the ledger.
        for (const invoice of await db.invoice.findMany({ where, include: { lines: true, walletTransactions: true } })) {
          const lineSum = invoice.lines.reduce((total, line) => total + line.amount, 0n);
          expect(invoice.subtotal).toBe(lineSum);
          expect(invoice.total).toBe(invoice.subtotal - invoice.couponsAmount - invoice.creditsApplied);
          expect(invoice.total >= 0n).toBe(true);
          const consumed = invoice.walletTransactions.filter((t) => t.type === 'consumed').reduce((total, t) => total + t.amount, 0n);
          expect(invoice.creditsApplied).toBe(consumed);
          expect(invoice.billingDetails).toMatchObject({ name: personal.name, tax_id: personal.tax_id });
        }
        // Each ended subscription was settled once: a closing invoice or a credit note, capped by what was billed.
        for (const s of await db.subscription.findMany({ where, include: { invoiceLines: { include: { invoice: true } }, creditNotes: true } })) {
          if (s.status === 'canceled') {
            expect(s.invoiceLines).toHaveLength(0);
            continue;
          }
          const periodDays = BigInt(Math.round((s.currentPeriodEnd.getTime() - s.currentPeriodStart.getTime()) / DAY));
          const remaining = BigInt(Math.min(Number(periodDays), Math.max(0, Math.floor((s.currentPeriodEnd.getTime() - s.terminatedAt!.getTime()) / DAY))));
          const unused = (s.amount * remaining) / periodDays;
          if (s.billingTime === 'in_arrears') {
            expect(s.invoiceLines.map((line) => line.amount)).toEqual(s.amount - unused > 0n ? [s.amount - unused] : []);
            expect(s.creditNotes).toHaveLength(0);
          } else {
            const billed = s.invoiceLines;
            expect(billed).toHaveLength(s.amount > 0n ? 1 : 0);
            const cap = billed[0] ? billed[0].invoice.subtotal - billed[0].invoice.couponsAmount : 0n;
            // The unused days of what the period invoice charged for it after coupons (the line's
            // share of them, rounded up), not of the list price.
            const line = billed[0];
            const couponShare = line ? (line.invoice.couponsAmount * line.amount + line.invoice.subtotal - 1n) / line.invoice.subtotal : 0n;
            const charged = line ? line.amount - couponShare : 0n;
            const unusedCharged = (charged * remaining) / periodDays;
            const credit = unusedCharged < cap ? unusedCharged : cap;
            expect(s.creditNotes.map((note) => note.amount)).toEqual(credit > 0n ? [credit] : []);
          }
        }
        // Each event once; no personal data outside the legal snapshots.
        const events = await db.event.findMany({ where: { merchantId, customerId: customer.id } });
        const keys = events.map((e) => `${e.type} ${(e.data as { object: { id: string } }).object.id}`);
        expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
        const values = [personal.external_id, personal.email, personal.name, personal.company_name, personal.tax_id,
          personal.description, personal.metadata.secret, personal.address.line1, personal.address.postal_code];
        expect(await personalDataLeft(db, merchantId, values)).toEqual([]);
      }),
      { numRuns: 15, seed: 20261126, endOnFailure: true },
    );
  });
});
