import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/harness.js';

// The unfiltered customer list answers `total` from the delta rows the customers triggers write
// (prisma/migrations/*_customer_counts), not by counting customers: these tests hold it to the count.
describe('customer list total', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.stop());

  /** What the list says against what is in the table, for one key. */
  const totals = async (key: string, merchantId: string, environment: 'sandbox' | 'live') => {
    const listed = await api.request('GET', '/v1/customers?limit=1', { key });
    expect(listed.status).toBe(200);
    const counted = await api.runtime.db.customer.count({ where: { merchantId, environment, status: 'active', deletedAt: null } });
    return { listed: listed.body.total as number, counted };
  };

  it('follows every write path (create, upserts, batch, tags, patch, delete) per tenant, while the fold runs beside the writers', async () => {
    const a = await api.merchant('Counted A');
    const b = await api.merchant('Counted B');
    expect(await totals(a.sandboxKey, a.merchantId, 'sandbox')).toEqual({ listed: 0, counted: 0 });

    // Concurrent creates with the fold running in a loop beside them.
    let folding = true;
    const folder = (async () => {
      while (folding) await api.runtime.services.customers.compactCounts();
    })();
    const created = await Promise.all(
      Array.from({ length: 30 }, (_, i) => api.request('POST', '/v1/customers', { key: a.sandboxKey, body: { email: `c${i}@count.test`, tags: ['t'] } })),
    );
    expect(created.every((response) => response.status === 201)).toBe(true);
    await api.request('POST', '/v1/customers', { key: a.liveKey, body: { name: 'Live one' } });
    await api.request('POST', '/v1/customers', { key: b.sandboxKey, body: { name: 'Other merchant' } });

    // A batch of 40: 10 of them twice in the batch's life (created, then updated by a second batch).
    const items = Array.from({ length: 40 }, (_, i) => ({ source: 'crm', external_id: `e${i}`, name: `E${i}` }));
    expect((await api.request('PUT', '/v1/customers/external/batch', { key: a.sandboxKey, body: { items } })).status).toBe(200);
    expect((await api.request('PUT', '/v1/customers/external/batch', { key: a.sandboxKey, body: { items: items.slice(0, 10) } })).status).toBe(200);
    // Single upserts: one new, one existing.
    await api.request('PUT', '/v1/customers/external/crm/e0', { key: a.sandboxKey, body: { name: 'Again' } });
    await api.request('PUT', '/v1/customers/external/crm/new-one', { key: a.sandboxKey, body: { name: 'New' } });
    // Changes that leave the count alone.
    await api.request('PATCH', `/v1/customers/${created[0]!.body.id}`, { key: a.sandboxKey, body: { metadata: { plan: 'pro' } } });
    await api.request('POST', `/v1/customers/${created[1]!.body.id}/tags`, { key: a.sandboxKey, body: { tags: ['vip'] } });
    await api.request('DELETE', `/v1/customers/${created[1]!.body.id}/tags/t`, { key: a.sandboxKey });
    // Deletions take customers out of the list at once (status deleting), and a repeat changes nothing.
    for (const response of created.slice(0, 5)) {
      expect((await api.request('DELETE', `/v1/customers/${response.body.id}`, { key: a.sandboxKey })).status).toBe(202);
    }
    await api.request('DELETE', `/v1/customers/${created[0]!.body.id}`, { key: a.sandboxKey });
    folding = false;
    await folder;

    expect(await totals(a.sandboxKey, a.merchantId, 'sandbox')).toEqual({ listed: 30 + 40 + 1 - 5, counted: 66 });
    expect(await totals(a.liveKey, a.merchantId, 'live')).toEqual({ listed: 1, counted: 1 });
    expect(await totals(b.sandboxKey, b.merchantId, 'sandbox')).toEqual({ listed: 1, counted: 1 });

    // The deletion finishing (deleting -> deleted) leaves it alone too.
    await api.runtime.db.customer.updateMany({ where: { id: { in: created.slice(0, 5).map((r) => r.body.id) } }, data: { status: 'deleted', deletedAt: new Date() } });
    await api.runtime.services.customers.compactCounts();
    expect(await totals(a.sandboxKey, a.merchantId, 'sandbox')).toEqual({ listed: 66, counted: 66 });
    // Folded: one row per tenant.
    const rows = await api.runtime.db.customerCount.groupBy({ by: ['merchantId', 'environment'], where: { merchantId: { in: [a.merchantId, b.merchantId] } }, _count: true });
    expect(rows.map((row) => row._count)).toEqual([1, 1, 1]);
  });

  it('counts filtered lists by their filter', async () => {
    const merchant = await api.merchant('Filtered');
    for (const tag of ['x', 'x', 'y']) await api.request('POST', '/v1/customers', { key: merchant.sandboxKey, body: { tags: [tag] } });
    const tagged = await api.request('GET', '/v1/customers?tag=x&limit=1', { key: merchant.sandboxKey });
    expect(tagged.body).toMatchObject({ total: 2, has_more: true });
    expect((await api.request('GET', '/v1/customers', { key: merchant.sandboxKey })).body.total).toBe(3);
  });
});
