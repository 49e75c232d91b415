import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/harness.js';

// Each limit refuses with a clear 4xx naming what is too big, and before it costs memory or time:
// the body size and nesting depth are checked on the raw bytes, the rest by the schema, all before
// any database work.
describe('input limits', () => {
  let api: TestApi;
  let key: string;
  let merchantId: string;
  const customers = () => api.runtime.db.customer.count({ where: { merchantId } });

  beforeAll(async () => {
    api = await startTestApi();
    ({ sandboxKey: key, merchantId } = await api.merchant('Limits'));
  });
  afterAll(() => api.stop());

  it.each([
    ['the largest body (BODY_LIMIT, 1 MB)', { description: 'x'.repeat(1_100_000) }, 413, undefined],
    ['the longest name (256)', { name: 'x'.repeat(257) }, 400, 'name'],
    ['the longest description (1,000)', { description: 'x'.repeat(1001) }, 400, 'description'],
    ['the longest email (320)', { email: `${'x'.repeat(320)}@example.com` }, 400, 'email'],
    ['the longest tag (64)', { tags: ['x'.repeat(65)] }, 400, 'tags.0'],
    ['the most tags (100)', { tags: Array.from({ length: 101 }, (_, i) => `t${i}`) }, 400, 'tags'],
    ['the most metadata keys (50)', { metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i])) }, 400, 'metadata'],
    ['the longest metadata key (40)', { metadata: { ['k'.repeat(41)]: 1 } }, 400, `metadata.${'k'.repeat(41)}`],
    ['the longest metadata value (500)', { metadata: { note: 'x'.repeat(501) } }, 400, 'metadata.note'],
  ])('%s', async (_name, body, status, param) => {
    const before = await customers();
    const response = await api.request('POST', '/v1/customers', { key, body });
    expect(response.status).toBe(status);
    expect(response.body.error.type).toBe('invalid_request');
    if (param) expect(response.body.error.errors.map((e: { param: string }) => e.param)).toContain(param);
    expect(await customers()).toBe(before);
  });

  it('the deepest JSON (32 levels)', async () => {
    const response = await api.request('POST', '/v1/customers', { key, rawBody: `{"metadata":${'['.repeat(33)}${']'.repeat(33)}}`, headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(400);
    expect(response.body.error.param).toBe('body');
  });

  it('the largest batch (1,000 items), and tags added past the most a customer holds', async () => {
    const batch = await api.request('PUT', '/v1/customers/external/batch', {
      key,
      body: { items: Array.from({ length: 1001 }, (_, i) => ({ source: 's', external_id: `x${i}` })) },
    });
    expect(batch.status).toBe(400);
    expect(batch.body.error.param).toBe('items');
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: { tags: Array.from({ length: 100 }, (_, i) => `t${i}`) } });
    const more = await api.request('POST', `/v1/customers/${customer.id}/tags`, { key, body: { tags: ['one-too-many'] } });
    expect(more.status).toBe(400);
    expect(more.body.error.param).toBe('tags');
    expect((await api.request('GET', `/v1/customers/${customer.id}`, { key })).body.tags).toHaveLength(100);
  });

  it('the longest Idempotency-Key (255) and the largest page (1,000)', async () => {
    const keyed = await api.request('POST', '/v1/customers', { key, body: {}, headers: { 'idempotency-key': 'k'.repeat(256) } });
    expect(keyed.status).toBe(400);
    expect(keyed.body.error.param).toBe('Idempotency-Key');
    const page = await api.request('GET', '/v1/customers?limit=1001', { key });
    expect(page.status).toBe(400);
    expect(page.body.error.param).toBe('limit');
  });
});
