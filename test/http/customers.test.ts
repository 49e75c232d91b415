import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEvents } from '../../src/events/outbox.js';
import { newId } from '../../src/lib/ids.js';
import { eventually, startTestApi, type TestApi } from '../support/harness.js';

describe('customer registry', () => {
  let api: TestApi;
  let key: string;
  let merchantId: string;
  const post = (body: unknown) => api.request('POST', '/v1/customers', { key, body });

  beforeAll(async () => {
    api = await startTestApi();
    ({ sandboxKey: key, merchantId } = await api.merchant('Registry'));
  });
  afterAll(() => api.stop());

  it('creates a customer with every field and returns the full object', async () => {
    const response = await post({
      external_id: 'u-1',
      external_source: 'app',
      email: 'Ada@Example.com',
      phone: '+33612345678',
      name: 'Ada Lovelace',
      tags: ['vip', 'beta', 'vip'],
      metadata: { plan: 'pro', seats: 3, trial: false, note: null },
      address: { line1: '1 Rue de Rivoli', line2: 'Bâtiment B', city: 'Paris', state: 'IDF', postal_code: '75001', country: 'fr' },
      company_name: 'Analytical Engines',
      tax_id: 'FR123',
      description: 'first customer',
      timezone: 'Europe/Paris',
      currency: 'eur',
    });
    expect(response.status).toBe(201);
    // Every field seed 001 names for the customer object (in the API's snake_case; times are ISO 8601).
    expect(response.body).toMatchObject({
      object: 'customer',
      environment: 'sandbox',
      status: 'active',
      external_id: 'u-1',
      external_source: 'app',
      email: 'Ada@Example.com',
      phone: '+33612345678',
      name: 'Ada Lovelace',
      tags: ['vip', 'beta'],
      metadata: { plan: 'pro', seats: 3, trial: false },
      address: { line1: '1 Rue de Rivoli', line2: 'Bâtiment B', city: 'Paris', state: 'IDF', postal_code: '75001', country: 'FR' },
      company_name: 'Analytical Engines',
      tax_id: 'FR123',
      description: 'first customer',
      timezone: 'Europe/Paris',
      currency: 'EUR',
    });
    expect(response.body.id).toMatch(/^cus_[0-9A-Z]{26}$/);
    expect(Date.parse(response.body.created)).not.toBeNaN();
    expect(Date.parse(response.body.updated)).not.toBeNaN();
    const fetched = await api.request('GET', `/v1/customers/${response.body.id}`, { key });
    expect(fetched.body).toEqual(response.body);
  });

  it('creates a customer from an empty body: every field is optional', async () => {
    const response = await api.request('POST', '/v1/customers', { key });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ email: null, tags: [], metadata: {}, address: null });
  });

  it('refuses a second live customer with the same email (any case) or external_id, naming the existing one', async () => {
    const first = await post({ email: 'dup@example.com', external_id: 'dup-1' });
    const byEmail = await post({ email: 'DUP@example.com' });
    expect(byEmail.status).toBe(409);
    expect(byEmail.body.error).toMatchObject({ type: 'conflict', param: 'email', customer_id: first.body.id });
    const byExternalId = await post({ external_id: 'dup-1' });
    expect(byExternalId.status).toBe(409);
    expect(byExternalId.body.error).toMatchObject({ type: 'conflict', param: 'external_id', customer_id: first.body.id });
  });

  it('treats _ and % in an email literally when checking uniqueness and filtering', async () => {
    const { sandboxKey } = await api.merchant('Emails');
    await api.request('POST', '/v1/customers', { key: sandboxKey, body: { email: 'axb@example.com' } });
    const lookalike = await api.request('POST', '/v1/customers', { key: sandboxKey, body: { email: 'a_b@example.com' } });
    expect(lookalike.status).toBe(201);
    const byPattern = await api.request('GET', `/v1/customers?email=${encodeURIComponent('a%b@example.com')}`, { key: sandboxKey });
    expect(byPattern.body.total).toBe(0);
  });

  it('merges metadata key by key, removes keys set to null, and replaces tags', async () => {
    const { body: customer } = await post({ metadata: { a: '1', b: '2' }, tags: ['one', 'two'] });
    const patched = await api.request('PATCH', `/v1/customers/${customer.id}`, {
      key,
      body: { metadata: { b: null, c: 3 }, tags: ['three'], name: 'Renamed' },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.metadata).toEqual({ a: '1', c: 3 });
    expect(patched.body.tags).toEqual(['three']);
    expect(patched.body.name).toBe('Renamed');
    const cleared = await api.request('PATCH', `/v1/customers/${customer.id}`, { key, body: { name: null, metadata: null } });
    expect(cleared.body).toMatchObject({ name: null, metadata: {}, tags: ['three'] });
  });

  it('adds and removes single tags', async () => {
    const { body: customer } = await post({ tags: ['a'] });
    const added = await api.request('POST', `/v1/customers/${customer.id}/tags`, { key, body: { tags: ['b', 'a', 'c'] } });
    expect(added.body.tags).toEqual(['a', 'b', 'c']);
    const removed = await api.request('DELETE', `/v1/customers/${customer.id}/tags/b`, { key });
    expect(removed.status).toBe(200);
    expect(removed.body.tags).toEqual(['a', 'c']);
  });

  it('lists newest first with limit, offset, total, has_more and a starting_after cursor', async () => {
    const { sandboxKey } = await api.merchant('Lister');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await api.request('POST', '/v1/customers', { key: sandboxKey, body: { name: `c${i}`, tags: i % 2 ? ['odd'] : [] } })).body.id);
    }
    const newestFirst = [...ids].reverse();
    const page1 = await api.request('GET', '/v1/customers?limit=2', { key: sandboxKey });
    expect(page1.body).toMatchObject({ object: 'list', total: 5, has_more: true });
    expect(page1.body.data.map((c: { id: string }) => c.id)).toEqual(newestFirst.slice(0, 2));
    const page2 = await api.request('GET', '/v1/customers?limit=2&offset=2', { key: sandboxKey });
    expect(page2.body.data.map((c: { id: string }) => c.id)).toEqual(newestFirst.slice(2, 4));
    const cursor = await api.request('GET', `/v1/customers?limit=10&starting_after=${newestFirst[2]}`, { key: sandboxKey });
    expect(cursor.body).toMatchObject({ has_more: false });
    expect(cursor.body.data.map((c: { id: string }) => c.id)).toEqual(newestFirst.slice(3));
    const odd = await api.request('GET', '/v1/customers?tag=odd', { key: sandboxKey });
    expect(odd.body.total).toBe(2);
    expect(odd.body.data.map((c: { id: string }) => c.id)).toEqual([ids[3], ids[1]]);
    const unknownCursor = await api.request('GET', '/v1/customers?starting_after=cus_nope', { key: sandboxKey });
    expect(unknownCursor.status).toBe(400);
    expect(unknownCursor.body.error.param).toBe('starting_after');
  });

  it('filters by external_id, email (case-insensitive) and creation time', async () => {
    const { sandboxKey } = await api.merchant('Filters');
    const before = new Date(Date.now() - 1000).toISOString();
    const a = (await api.request('POST', '/v1/customers', { key: sandboxKey, body: { external_id: 'ext-a', email: 'a@f.test' } })).body;
    await api.request('POST', '/v1/customers', { key: sandboxKey, body: { external_id: 'ext-b' } });
    const byExternal = await api.request('GET', '/v1/customers?external_id=ext-a', { key: sandboxKey });
    expect(byExternal.body.data.map((c: { id: string }) => c.id)).toEqual([a.id]);
    const byEmail = await api.request('GET', '/v1/customers?email=A@F.TEST', { key: sandboxKey });
    expect(byEmail.body.data.map((c: { id: string }) => c.id)).toEqual([a.id]);
    const since = await api.request('GET', `/v1/customers?created[gte]=${encodeURIComponent(before)}`, { key: sandboxKey });
    expect(since.body.total).toBe(2);
    const until = await api.request('GET', `/v1/customers?created[lte]=${encodeURIComponent(before)}`, { key: sandboxKey });
    expect(until.body.total).toBe(0);
    const unixSeconds = await api.request('GET', `/v1/customers?created[gte]=${Math.floor(Date.now() / 1000) + 3600}`, { key: sandboxKey });
    expect(unixSeconds.body.total).toBe(0);
  });

  it('expands stats from customer_stats, kept fresh by payment events: per-currency totals as decimal strings', async () => {
    const { body: customer } = await post({ email: 'payer@example.com' });
    const payment = (amount: bigint, currency: string, status: 'succeeded' | 'failed', createdAt: Date) => ({
      id: newId('payment'),
      merchantId,
      environment: 'sandbox' as const,
      customerId: customer.id,
      amount,
      currency,
      status,
      source: 'api' as const,
      createdAt,
    });
    const payments = [
      payment(1999n, 'USD', 'succeeded', new Date('2026-01-01T00:00:00Z')),
      payment(10001n, 'USD', 'succeeded', new Date('2026-02-01T00:00:00Z')),
      payment(500n, 'JPY', 'succeeded', new Date('2026-03-01T00:00:00Z')),
      payment(99999n, 'USD', 'failed', new Date('2026-04-01T00:00:00Z')),
    ];
    // As the billing API records them: the rows and their events in one transaction.
    await api.runtime.db.$transaction(async (tx) => {
      await tx.payment.createMany({ data: payments });
      await recordEvents(
        tx,
        { merchantId, environment: 'sandbox' },
        payments.map((row) => ({ type: `payment.${row.status}` as const, object: { id: row.id }, customerId: customer.id })),
      );
    });
    // Through the API, so its invoice.created event reaches the stats subscriber like the payments'.
    const draft = await api.request('POST', '/v1/invoices', {
      key,
      body: { customer_id: customer.id, currency: 'USD', lines: [{ description: 'Setup', unit_amount: 1999 }] },
    });
    expect(draft.status).toBe(201);
    const stats = await eventually(async () => {
      const response = await api.request('GET', `/v1/customers/${customer.id}?expand=stats`, { key });
      return response.body.stats.payment_count === 3 && response.body.stats.invoice_count === 1 ? response.body.stats : undefined;
    }, 15_000, 'the stats subscriber');
    // Every stats field seed 001 names: invoiceCount, chargeCount (payment_count), totalSpent.
    expect(stats).toEqual({
      total_spent: { JPY: '500', USD: '120.00' },
      payment_count: 3,
      invoice_count: 1,
      first_payment_at: '2026-01-01T00:00:00.000Z',
      last_payment_at: '2026-03-01T00:00:00.000Z',
      subscription_status: 'none',
      mrr: { JPY: '0', USD: '0.00' },
      computed_at: expect.any(String),
      currencies: [
        expect.objectContaining({ currency: 'JPY', total_spent: 500, total_spent_decimal: '500', payment_count: 1, average_payment: 500, invoice_count: 0 }),
        expect.objectContaining({
          currency: 'USD',
          invoice_count: 1,
          total_spent: 12000,
          total_spent_decimal: '120.00',
          payment_count: 2,
          average_payment: 6000,
          average_payment_decimal: '60.00',
          last_payment_at: '2026-02-01T00:00:00.000Z',
        }),
      ],
    });
    const withoutExpand = await api.request('GET', `/v1/customers/${customer.id}`, { key });
    expect(withoutExpand.body.stats).toBeUndefined();
    const paymentPage = await api.request('GET', `/v1/customers/${customer.id}/payments?limit=2`, { key });
    expect(paymentPage.body).toMatchObject({ object: 'list', total: 4, has_more: true });
    expect(paymentPage.body.data[0]).toMatchObject({ object: 'payment', amount: 99999, currency: 'USD', status: 'failed' });
    const invoices = await api.request('GET', `/v1/customers/${customer.id}/invoices`, { key });
    expect(invoices.body.data).toEqual([expect.objectContaining({ object: 'invoice', total: 1999, status: 'draft' })]);
  });

  it('pins external_id and currency once a billing object exists', async () => {
    const { body: customer } = await post({ external_id: 'pinned', external_source: 'app', currency: 'USD' });
    const beforeBilling = await api.request('PATCH', `/v1/customers/${customer.id}`, { key, body: { currency: 'GBP' } });
    expect(beforeBilling.body.currency).toBe('GBP');
    await api.runtime.db.invoice.create({
      data: { id: newId('invoice'), merchantId, environment: 'sandbox', customerId: customer.id, currency: 'GBP' },
    });
    for (const body of [{ currency: 'EUR' }, { external_id: 'pinned-2' }]) {
      const response = await api.request('PATCH', `/v1/customers/${customer.id}`, { key, body });
      expect(response.status).toBe(409);
      expect(response.body.error.param).toBe(Object.keys(body)[0]);
    }
    const sameValue = await api.request('PATCH', `/v1/customers/${customer.id}`, { key, body: { currency: 'GBP', name: 'ok' } });
    expect(sameValue.status).toBe(200);
    const upsert = await api.request('PUT', '/v1/customers/external/app/pinned', { key, body: { currency: 'EUR', name: 'kept' } });
    expect(upsert.status).toBe(200);
    expect(upsert.body.data).toMatchObject({ currency: 'GBP', name: 'kept' });
    expect(upsert.body.warnings).toEqual([expect.objectContaining({ param: 'currency' })]);
  });

  it('upserts by external source and id: created, then updated with merged metadata', async () => {
    const first = await api.request('PUT', '/v1/customers/external/shop/42', { key, body: { email: 'up@example.com', metadata: { a: 1 } } });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ created: true, warnings: [], data: { external_id: '42', external_source: 'shop', email: 'up@example.com' } });
    const second = await api.request('PUT', '/v1/customers/external/shop/42', { key, body: { name: 'Up', metadata: { b: 2 } } });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ created: false, data: { id: first.body.data.id, name: 'Up', metadata: { a: 1, b: 2 } } });
  });

  it('identifies by the pair (source, external id): two integrations may both have a customer "123"', async () => {
    const { sandboxKey } = await api.merchant('Two integrations');
    const put = (source: string, body: object) => api.request('PUT', `/v1/customers/external/${source}/123`, { key: sandboxKey, body });
    const practicehub = await put('practicehub', { name: 'From PracticeHub' });
    const wodify = await put('wodify', { name: 'From Wodify' });
    expect([practicehub.status, wodify.status]).toEqual([201, 201]);
    expect(wodify.body.data.id).not.toBe(practicehub.body.data.id);
    // Each source upserts its own customer on repeat.
    const again = await put('wodify', { name: 'Wodify again' });
    expect(again.status).toBe(200);
    expect(again.body.data).toMatchObject({ id: wodify.body.data.id, name: 'Wodify again', external_source: 'wodify' });
    expect((await api.request('GET', `/v1/customers/${practicehub.body.data.id}`, { key: sandboxKey })).body.name).toBe('From PracticeHub');
    // The same in a batch.
    const batch = await api.request('PUT', '/v1/customers/external/batch', {
      key: sandboxKey,
      body: { items: [{ source: 'practicehub', external_id: '123', tags: ['a'] }, { source: 'crm', external_id: '123' }] },
    });
    expect(batch.body.results.map((r: { status: string }) => r.status)).toEqual(['updated', 'created']);
    expect(batch.body.results[0].data.id).toBe(practicehub.body.data.id);
    // An external_id set without a source is a namespace of its own.
    const plain = await api.request('POST', '/v1/customers', { key: sandboxKey, body: { external_id: '123' } });
    expect(plain.status).toBe(201);
    const plainAgain = await api.request('POST', '/v1/customers', { key: sandboxKey, body: { external_id: '123' } });
    expect(plainAgain.status).toBe(409);
    expect(plainAgain.body.error).toMatchObject({ param: 'external_id', customer_id: plain.body.id });
    // The list filters on the pair.
    const bySource = await api.request('GET', '/v1/customers?external_id=123&external_source=wodify', { key: sandboxKey });
    expect(bySource.body.data.map((c: { id: string }) => c.id)).toEqual([wodify.body.data.id]);
    expect((await api.request('GET', '/v1/customers?external_id=123', { key: sandboxKey })).body.total).toBe(4);
  });

  it('creates one customer when the same external id is upserted concurrently', async () => {
    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, i) => api.request('PUT', '/v1/customers/external/race/r-1', { key, body: { metadata: { [`k${i}`]: i } } })),
    );
    expect(responses.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
    const ids = new Set(responses.map((r) => r.body.data.id));
    expect(ids.size).toBe(1);
    const final = await api.request('GET', `/v1/customers/${[...ids][0]}`, { key });
    expect(Object.keys(final.body.metadata)).toHaveLength(8);
  });

  it('batch-upserts mixed good and bad items: each reports its own result, bad ones write nothing', async () => {
    const { sandboxKey } = await api.merchant('Batch');
    await api.request('PUT', '/v1/customers/external/erp/existing', { key: sandboxKey, body: { name: 'Old' } });
    const response = await api.request('PUT', '/v1/customers/external/batch', {
      key: sandboxKey,
      body: {
        items: [
          { source: 'erp', external_id: 'new-1', email: 'n1@b.test' },
          { source: 'erp', external_id: 'existing', name: 'New' },
          { source: 'erp', external_id: 'bad-email', email: 'not-an-email' },
          { source: 'erp', external_id: 'dup-email', email: 'N1@b.test' },
          { external_id: 'no-source' },
          'not an object',
        ],
      },
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ object: 'batch_result', created: 1, updated: 1, failed: 4 });
    const results = response.body.results;
    expect(results.map((r: { status: string }) => r.status)).toEqual(['created', 'updated', 'error', 'error', 'error', 'error']);
    expect(results[1].data.name).toBe('New');
    expect(results[2].error).toMatchObject({ type: 'invalid_request', param: 'items.2.email' });
    expect(results[3].error).toMatchObject({ type: 'conflict', param: 'email' });
    expect(results[4].error).toMatchObject({ param: 'items.4.source' });
    const list = await api.request('GET', '/v1/customers', { key: sandboxKey });
    expect(list.body.total).toBe(2);
    const tooMany = await api.request('PUT', '/v1/customers/external/batch', {
      key: sandboxKey,
      body: { items: Array.from({ length: 1001 }, (_, i) => ({ source: 's', external_id: `x${i}` })) },
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.param).toBe('items');
  });

  it('deletes through the workflow: 202 with the run, same run on repeat, then 404 and external_id reusable', async () => {
    const { body: customer } = await post({ external_id: 'leaver', email: 'leaver@example.com' });
    const first = await api.request('DELETE', `/v1/customers/${customer.id}`, { key });
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({
      object: 'customer_deletion',
      customer_id: customer.id,
      workflow_id: `customer-deletion:${customer.id}`,
      status_url: `/v1/customers/${customer.id}/deletion`,
    });
    expect(first.body.run_id).toMatch(/^[0-9a-f-]{36}$/);
    const second = await api.request('DELETE', `/v1/customers/${customer.id}`, { key });
    expect(second.status).toBe(202);
    expect(second.body.id).toBe(first.body.id);
    expect(second.body.run_id).toBe(first.body.run_id);

    const done = await eventually(async () => {
      const status = await api.request('GET', `/v1/customers/${customer.id}/deletion`, { key });
      return status.body.status === 'completed' ? status.body : undefined;
    });
    expect(done.steps.map((step: { state: string }) => step.state)).toEqual(Array(7).fill('completed'));
    expect(done.steps.map((step: { name: string }) => step.name)).toContain('mark_deleted');
    expect((await api.request('GET', `/v1/customers/${customer.id}`, { key })).status).toBe(404);
    const list = await api.request('GET', '/v1/customers?external_id=leaver', { key });
    expect(list.body.total).toBe(0);
    const again = await api.request('DELETE', `/v1/customers/${customer.id}`, { key });
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ id: first.body.id, status: 'completed' });

    const reused = await post({ external_id: 'leaver', email: 'leaver@example.com' });
    expect(reused.status).toBe(201);
    expect(reused.body.id).not.toBe(customer.id);
  });

  it('refuses changes to a customer being deleted and hides it from lists at once', async () => {
    const { body: customer } = await post({ tags: ['leaving'] });
    await api.runtime.db.customer.update({ where: { id: customer.id }, data: { status: 'deleting' } });
    const patch = await api.request('PATCH', `/v1/customers/${customer.id}`, { key, body: { name: 'x' } });
    expect(patch.status).toBe(409);
    const list = await api.request('GET', '/v1/customers?tag=leaving', { key });
    expect(list.body.total).toBe(0);
    const read = await api.request('GET', `/v1/customers/${customer.id}`, { key });
    expect(read.body.status).toBe('deleting');
  });
});
