import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/harness.js';

// Each row: a body for POST /v1/customers and the params the 400 must name.
const INVALID_CREATE_BODIES: [string, unknown, string[]][] = [
  ['email without @', { email: 'nope' }, ['email']],
  ['phone not E.164', { phone: '0612345678' }, ['phone']],
  ['phone E.164 but not a real number', { phone: '+1000' }, ['phone']],
  ['unknown country', { address: { country: 'XX' } }, ['address.country']],
  ['pseudo-region country', { address: { country: 'EU' } }, ['address.country']],
  ['unknown currency', { currency: 'ABC' }, ['currency']],
  ['unknown time zone', { timezone: 'Mars/Olympus' }, ['timezone']],
  ['tags not an array', { tags: 'vip' }, ['tags']],
  ['tag with a space', { tags: ['two words'] }, ['tags.0']],
  ['metadata nested object', { metadata: { a: { b: 1 } } }, ['metadata.a']],
  ['metadata too many keys', { metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i])) }, ['metadata']],
  ['name too long', { name: 'x'.repeat(257) }, ['name']],
  ['empty external_id', { external_id: '' }, ['external_id']],
  ['external_source without external_id', { external_source: 'shop' }, ['external_source']],
  ['unknown field', { nickname: 'Ada' }, ['nickname']],
  ['unknown address field', { address: { street: 'x' } }, ['address.street']],
  ['several at once', { email: 1, currency: 'usd1', foo: true }, ['email', 'currency', 'foo']],
  ['body is an array', [{ email: 'a@b.co' }], ['']],
];

describe('bad input answers 4xx naming the field, and writes nothing', () => {
  let api: TestApi;
  let key: string;
  let merchantId: string;
  const customerCount = () => api.runtime.db.customer.count({ where: { merchantId } });

  beforeAll(async () => {
    api = await startTestApi();
    ({ sandboxKey: key, merchantId } = await api.merchant('Bad input'));
  });
  afterAll(() => api.stop());

  it.each(INVALID_CREATE_BODIES)('%s', async (_name, body, params) => {
    const before = await customerCount();
    const response = await api.request('POST', '/v1/customers', { key, body });
    expect(response.status).toBe(400);
    expect(response.body.error.type).toBe('invalid_request');
    expect(response.body.error.errors.map((e: { param: string }) => e.param)).toEqual(params);
    expect(await customerCount()).toBe(before);
  });

  it('malformed JSON is a 400, not a 500', async () => {
    const response = await api.request('POST', '/v1/customers', { key, rawBody: '{"email": ', headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ type: 'invalid_request', message: 'Malformed JSON in request body' });
  });

  it('a body that is not JSON is a 415 naming Content-Type', async () => {
    const response = await api.request('POST', '/v1/customers', { key, rawBody: 'email=a@b.co', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(response.status).toBe(415);
    expect(response.body.error.param).toBe('Content-Type');
  });

  it('a body over 1 MB is a 413', async () => {
    const response = await api.request('POST', '/v1/customers', { key, body: { description: 'x'.repeat(1_100_000) } });
    expect(response.status).toBe(413);
    expect(response.body.error.type).toBe('invalid_request');
  });

  it('bad query parameters name the parameter', async () => {
    for (const [query, param] of [
      ['limit=0', 'limit'],
      ['limit=1001', 'limit'],
      ['offset=-1', 'offset'],
      ['created[gte]=yesterday', 'created[gte]'],
      ['expand=everything', 'expand'],
    ] as const) {
      const path = query.startsWith('expand') ? `/v1/customers/cus_01JD3Z6Q4W8V2G7R1M5K9T0XYZ?${query}` : `/v1/customers?${query}`;
      const response = await api.request('GET', path, { key });
      expect(response.status, query).toBe(400);
      expect(response.body.error.param, query).toBe(param);
    }
  });

  it('an unknown route under /v1 is a 404 in the error format', async () => {
    const response = await api.request('GET', '/v1/nothing-here', { key });
    expect(response.status).toBe(404);
    expect(response.body.error.type).toBe('not_found');
  });

  it('a failed PATCH leaves the customer untouched', async () => {
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: { name: 'Intact', metadata: { a: 1 } } });
    const response = await api.request('PATCH', `/v1/customers/${customer.id}`, { key, body: { name: 'Changed', email: 'bad' } });
    expect(response.status).toBe(400);
    const after = await api.request('GET', `/v1/customers/${customer.id}`, { key });
    expect(after.body).toEqual(customer);
  });
});
