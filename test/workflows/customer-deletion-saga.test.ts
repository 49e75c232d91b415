import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { customerDeletionWorkflow } from '../../workflows/customer-deletion.workflow.js';
import { SEARCH_ATTRIBUTES, deletionProgressQuery, workflowIds } from '../../workflows/definitions.js';
import { eventually, startTestApi, type TestApi } from '../support/harness.js';
import { personalDataLeft } from '../support/personal-data.js';

const DAY = 86_400_000;

describe('customer deletion saga, on the real worker', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.stop());

  async function setup(name: string) {
    const merchant = await api.merchant(name);
    const call = async (method: string, path: string, body?: unknown, headers?: Record<string, string>) => {
      const response = await api.request(method, path, { key: merchant.sandboxKey, body, headers });
      return response;
    };
    return { ...merchant, call };
  }

  it('settles every billing object in order, then deletes and erases the customer', async () => {
    const { merchantId, call } = await setup('Saga');
    const token = randomUUID().slice(0, 8);
    const personal = {
      external_id: `ext-${token}`,
      email: `grace-${token}@example.com`,
      phone: `+1415555${String(Math.floor(Math.random() * 9000) + 1000)}`,
      name: `Grace Hopper ${token}`,
      company_name: `Compilers ${token} Inc`,
      tax_id: `TAX${token}`,
      description: `Admiral ${token}`,
      metadata: { nickname: `amazing-${token}` },
      address: { line1: `${token} Navy Yard`, city: 'Arlington', postal_code: `P${token}`, country: 'US' },
    };
    const created = await call('POST', '/v1/customers', { ...personal, external_source: 'crm', currency: 'USD', tags: ['vip'] }, {
      'Idempotency-Key': `create-${token}`,
    });
    expect(created.status).toBe(201);
    const customer = created.body;
    // Stored replies that concern the customer without showing its object: a 409 quoting its email
    // (in another case), an upsert on its external-id path, a sequence preview rendered for it.
    const stored = { 'Idempotency-Key': `conflict-${token}` };
    const conflict = await call('POST', '/v1/customers', { email: personal.email.toUpperCase() }, stored);
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.message.toLowerCase()).toContain(personal.email);
    const upserted = await call('PUT', `/v1/customers/external/crm/${personal.external_id}`, { description: personal.description }, {
      'Idempotency-Key': `upsert-${token}`,
    });
    expect(upserted.status).toBe(200);
    const { body: sequence } = await call('POST', '/v1/sequences', {
      name: 'Erasure', trigger_tag: `erasure-${token}`,
      steps: [{ channel: 'email', template: { subject: 'Hi {{ customer.name }}', html: '<p>{{ customer.company_name }}</p>' } }],
    });
    const preview = await call('POST', `/v1/sequences/${sequence.id}/preview`, { customer_id: customer.id }, { 'Idempotency-Key': `preview-${token}` });
    expect(preview.body.steps[0]).toMatchObject({ recipient: personal.email, subject: `Hi ${personal.name}` });
    const tenDaysAgo = new Date(Date.now() - 10 * DAY).toISOString();
    const subscribe = (billing_time: string, extra: object = {}) =>
      call('POST', '/v1/subscriptions', { customer_id: customer.id, plan_code: billing_time, amount: 3100, currency: 'USD', billing_time, start_date: tenDaysAgo, ...extra });
    const arrears = (await subscribe('in_arrears')).body;
    const advance = (await subscribe('in_advance')).body;
    const pending = (await subscribe('in_arrears', { start_date: new Date(Date.now() + 3 * DAY).toISOString() })).body;
    const { body: billed } = await call('GET', `/v1/invoices?customer_id=${customer.id}`);
    const advanceInvoice = billed.data[0];
    await call('POST', '/v1/applied_coupons', { customer_id: customer.id, coupon_code: 'LOYAL', percent_off: 10, frequency: 'forever' });
    const { body: wallet } = await call('POST', '/v1/wallets', { customer_id: customer.id, currency: 'USD', granted_credits: 5000 });
    const drafts = [];
    for (const amount of [1000, 2500]) {
      drafts.push(
        (await call('POST', '/v1/invoices', { customer_id: customer.id, currency: 'USD', lines: [{ description: 'Support hours', unit_amount: amount }] })).body,
      );
    }
    const { body: payment } = await call('POST', '/v1/payments', {
      customer_id: customer.id, amount: advanceInvoice.total, currency: 'USD', status: 'succeeded', source: 'invoice', source_id: advanceInvoice.id,
    });

    const accepted = await call('DELETE', `/v1/customers/${customer.id}`, undefined, { 'Idempotency-Key': `delete-${token}` });
    expect(accepted.status).toBe(202);
    expect(accepted.body.temporal_ui_url).toContain(encodeURIComponent(workflowIds.customerDeletion(customer.id)));
    // At once: out of lists, no new billing objects.
    expect((await call('GET', `/v1/customers?external_id=${personal.external_id}`)).body.total).toBe(0);
    const late = await call('POST', '/v1/wallets', { customer_id: customer.id, currency: 'EUR' });
    expect(late.status === 409 || late.status === 404).toBe(true);
    const again = await call('DELETE', `/v1/customers/${customer.id}`);
    expect(again.body).toMatchObject({ id: accepted.body.id, run_id: accepted.body.run_id });

    const handle = api.runtime.temporal.workflow.getHandle<typeof customerDeletionWorkflow>(workflowIds.customerDeletion(customer.id));
    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(result.steps.map((step) => [step.name, step.state])).toEqual([
      ['terminate_subscriptions', 'completed'],
      ['terminate_coupons', 'completed'],
      ['finalize_invoices', 'completed'],
      ['terminate_wallets', 'completed'],
      ['mark_deleted', 'completed'],
      ['stop_sequences', 'completed'],
      ['erase_personal_data', 'completed'],
    ]);
    expect(result.steps[0]!.detail).toBe('2 subscriptions terminated, 1 canceled, 1 closing invoices, 1 credit notes');
    expect(result.steps[2]!.detail).toBe('3 drafts finalized, 3 with wallet credits applied');
    expect(result.steps[3]!.detail).toBe('1 wallets terminated, 1 with remaining credits voided');
    expect((await handle.describe()).typedSearchAttributes.get(SEARCH_ATTRIBUTES.deletionStatus)).toBe('completed');
    const deletion = await call('GET', `/v1/customers/${customer.id}/deletion`);
    expect(deletion.body).toMatchObject({ status: 'completed', current_step: null, failure_reason: null });
    expect(deletion.body.completed).not.toBeNull();

    // 1. Subscriptions: terminated (settled) or canceled.
    const subscriptions = await call('GET', `/v1/subscriptions?customer_id=${customer.id}`);
    const byId = new Map(subscriptions.body.data.map((s: any) => [s.id, s]));
    expect((byId.get(arrears.id) as any).status).toBe('terminated');
    expect((byId.get(advance.id) as any).status).toBe('terminated');
    expect((byId.get(pending.id) as any).status).toBe('canceled');
    const split = (s: any) => {
      const ended = byId.get(s.id) as any;
      const periodDays = Math.round((Date.parse(s.current_period_end) - Date.parse(s.current_period_start)) / DAY);
      const remaining = Math.floor((Date.parse(s.current_period_end) - Date.parse(ended.terminated_at)) / DAY);
      const unused = Math.floor((3100 * remaining) / periodDays);
      return { used: 3100 - unused, unused };
    };
    // 3. Every invoice finalized, credits applied oldest first; the closing invoice had the coupon.
    const { body: invoices } = await call('GET', `/v1/invoices?customer_id=${customer.id}`);
    expect(invoices.data.every((i: any) => i.status === 'finalized')).toBe(true);
    const closing = invoices.data.find((i: any) => i.lines[0].subscription_id === arrears.id);
    const used = split(arrears).used;
    expect(closing).toMatchObject({ subtotal: used, coupons_amount: Math.floor(used / 10), total: 0 });
    for (const invoice of invoices.data) expect(invoice.total).toBe(invoice.subtotal - invoice.coupons_amount - invoice.credits_applied);
    expect(closing.billing_details.name).toBe(personal.name);
    // In-advance: a credit note for the unused days.
    const { body: notes } = await call('GET', `/v1/credit_notes?customer_id=${customer.id}`);
    expect(notes.data).toEqual([expect.objectContaining({ subscription_id: advance.id, invoice_id: advanceInvoice.id, amount: split(advance).unused })]);
    // 4. The wallet: terminated, its remainder voided with one recorded transaction.
    const { body: transactions } = await call('GET', `/v1/wallets/${wallet.id}/transactions`);
    const consumed = transactions.data.filter((t: any) => t.type === 'consumed').reduce((sum: number, t: any) => sum + t.credits, 0);
    expect(transactions.data.filter((t: any) => t.type === 'voided')).toEqual([expect.objectContaining({ credits: 5000 - consumed, credits_balance_after: 0 })]);
    expect((await call('GET', `/v1/wallets/${wallet.id}`)).body).toMatchObject({ status: 'terminated', credits_balance: 0 });

    // 5. Each event once.
    const events = await api.runtime.db.event.findMany({ where: { merchantId }, orderBy: { id: 'asc' } });
    const count = (type: string) => events.filter((e) => e.type === type).length;
    expect(count('subscription.terminated')).toBe(2);
    expect(count('subscription.canceled')).toBe(1);
    expect(count('invoice.finalized')).toBe(1 + 3);
    expect(count('credit_note.created')).toBe(1);
    expect(count('wallet.terminated')).toBe(1);
    expect(count('applied_coupon.terminated')).toBe(1);
    expect(count('customer.deleted')).toBe(1);

    // 6. Erased: the row, the events, the stored replies; the legal snapshots stay.
    const row = await api.runtime.db.customer.findUniqueOrThrow({ where: { id: customer.id } });
    expect(row).toMatchObject({ status: 'deleted', email: null, name: null, phone: null, externalId: null, taxId: null, metadata: {}, tags: ['vip'] });
    expect(row.erasedAt).not.toBeNull();
    const values = [personal.external_id, personal.email, personal.phone, personal.name, personal.company_name, personal.tax_id,
      personal.description, personal.metadata.nickname, personal.address.line1, personal.address.postal_code];
    expect(await personalDataLeft(api.runtime.db, merchantId, values)).toEqual([]);
    const deletedEvent = events.find((e) => e.type === 'customer.deleted')!;
    const erasedEvent = await api.runtime.db.event.findUniqueOrThrow({ where: { id: deletedEvent.id } });
    expect((erasedEvent.data as any).object).toMatchObject({ id: customer.id, deleted: true, email: null, external_id: null, tags: ['vip'] });
    const replay = await call('POST', '/v1/customers', { ...personal, external_source: 'crm', currency: 'USD', tags: ['vip'] }, {
      'Idempotency-Key': `create-${token}`,
    });
    expect(replay.body).toMatchObject({ id: customer.id, email: null, name: null });
    // The other stored replies replay erased too: the 409 still names the customer, not its email.
    const conflictReplay = await call('POST', '/v1/customers', { email: personal.email.toUpperCase() }, stored);
    expect(conflictReplay.status).toBe(409);
    expect(conflictReplay.body.error).toMatchObject({ param: 'email', customer_id: customer.id, message: expect.stringContaining("'[erased]'") });
    const previewReplay = await call('POST', `/v1/sequences/${sequence.id}/preview`, { customer_id: customer.id }, { 'Idempotency-Key': `preview-${token}` });
    expect(previewReplay.body.steps[0]).toMatchObject({ recipient: null, deliverable: true });
    expect(previewReplay.body.steps[0].subject).toBeUndefined();
    const paths = await api.runtime.db.idempotencyRecord.findMany({ where: { merchantId, key: `upsert-${token}` }, select: { path: true } });
    expect(paths).toEqual([{ path: '/v1/customers/external/crm/[erased]' }]);
    expect((await call('GET', `/v1/invoices/${advanceInvoice.id}`)).body.billing_details).toMatchObject({
      name: personal.name, tax_id: personal.tax_id, company_name: personal.company_name,
    });

    // After deletion: 404 for the customer; its money records stay readable and correctable.
    expect((await call('GET', `/v1/customers/${customer.id}`)).status).toBe(404);
    expect((await call('GET', `/v1/customers/${customer.id}/invoices`)).status).toBe(404);
    expect((await call('GET', `/v1/payments?customer_id=${customer.id}`)).body.total).toBe(1);
    expect((await call('GET', `/v1/wallet_transactions?customer_id=${customer.id}`)).body.total).toBe(transactions.total);
    const lateNote = await call('POST', '/v1/credit_notes', { invoice_id: advanceInvoice.id, amount: 100, reason: 'product_unsatisfactory' });
    expect(lateNote.status).toBe(201);
    expect(lateNote.body.billing_details.name).toBe(personal.name);
    const refund = await call('POST', `/v1/payments/${payment.id}/refunds`, { amount: 100, credit_note_id: lateNote.body.id });
    expect(refund.status).toBe(201);
    expect(await personalDataLeft(api.runtime.db, merchantId, values)).toEqual([]);
    // A new customer may take the same external id and email.
    const successor = await call('POST', '/v1/customers', { external_id: personal.external_id, email: personal.email });
    expect(successor.status).toBe(201);
  });

  it('terminates a wallet whose stored balance is worth more than 2^53 - 1 (left by an older version)', async () => {
    const { call } = await setup('Huge wallet');
    const { body: customer } = await call('POST', '/v1/customers', { currency: 'USD' });
    const { body: wallet } = await call('POST', '/v1/wallets', { customer_id: customer.id, currency: 'USD', rate_amount: 1000, granted_credits: 9e12 });
    // Two grants of 9e12 credits, as the API accepted them before it refused the second.
    await api.runtime.db.wallet.update({ where: { id: wallet.id }, data: { creditsBalance: 18_000_000_000_000n } });
    await call('DELETE', `/v1/customers/${customer.id}`);
    const handle = api.runtime.temporal.workflow.getHandle<typeof customerDeletionWorkflow>(workflowIds.customerDeletion(customer.id));
    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(result.steps.find((step) => step.name === 'terminate_wallets')).toMatchObject({
      state: 'completed',
      detail: '1 wallets terminated, 1 with remaining credits voided',
    });
    const { body: transactions } = await call('GET', `/v1/wallet_transactions?customer_id=${customer.id}&type=voided`);
    expect(transactions.data).toEqual([expect.objectContaining({ credits: 18e12, amount: '18000000000000000', credits_balance_after: 0 })]);
  });

  it('waits as action_required on a business failure, never skipping it, and resumes that step on retry', async () => {
    const { call } = await setup('Stuck');
    const { body: customer } = await call('POST', '/v1/customers', { currency: 'EUR' });
    await call('POST', '/v1/subscriptions', { customer_id: customer.id, plan_code: 'p', amount: 900, currency: 'EUR', start_date: new Date(Date.now() - DAY).toISOString() });
    const { body: bad } = await call('POST', '/v1/invoices', {
      customer_id: customer.id, currency: 'EUR', lines: [{ description: 'Refund of a deposit', unit_amount: -5000 }],
    });
    await call('DELETE', `/v1/customers/${customer.id}`);
    const handle = api.runtime.temporal.workflow.getHandle<typeof customerDeletionWorkflow>(workflowIds.customerDeletion(customer.id));
    const waiting = await eventually(async () => {
      const status = await call('GET', `/v1/customers/${customer.id}/deletion`);
      return status.body.status === 'action_required' ? status.body : undefined;
    });
    expect(waiting.current_step).toBe('finalize_invoices');
    expect(waiting.failure_reason).toContain(bad.id);
    expect(waiting.steps.slice(0, 3).map((s: any) => s.state)).toEqual(['completed', 'completed', 'action_required']);
    expect((await handle.query(deletionProgressQuery)).status).toBe('action_required');
    await eventually(async () =>
      (await handle.describe()).typedSearchAttributes.get(SEARCH_ATTRIBUTES.deletionStatus) === 'action_required' ? true : undefined,
    );
    // Nothing after the failed step ran: the subscription is settled, the customer not yet deleted.
    expect((await api.runtime.db.customer.findUniqueOrThrow({ where: { id: customer.id } })).status).toBe('deleting');

    // A retry without a fix fails the same way and waits again.
    expect((await call('POST', `/v1/customers/${customer.id}/deletion/retry`)).status).toBe(202);
    await eventually(async () => {
      const progress = await handle.query(deletionProgressQuery);
      return progress.status === 'action_required' && progress.steps[2]!.detail?.includes(bad.id) ? true : undefined;
    });
    expect((await call('POST', `/v1/invoices/${bad.id}/void`)).status).toBe(200);
    await eventually(async () => ((await call('GET', `/v1/customers/${customer.id}/deletion`)).body.status === 'action_required' ? true : undefined));
    expect((await call('POST', `/v1/customers/${customer.id}/deletion/retry`)).status).toBe(202);
    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(result.steps[2]).toEqual({ name: 'finalize_invoices', state: 'completed', detail: '1 drafts finalized' });
    expect((await handle.describe()).typedSearchAttributes.get(SEARCH_ATTRIBUTES.deletionStatus)).toBe('completed');
    expect((await call('POST', `/v1/customers/${customer.id}/deletion/retry`)).status).toBe(409);
  });
});
