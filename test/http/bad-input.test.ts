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

  it('NUL characters and unpaired surrogates never reach the database: 400 naming the field', async () => {
    const before = await customerCount();
    const cases: [string, string, string][] = [
      ['{"name":"Ada\\u0000Lovelace"}', 'name', 'NUL'],
      ['{"metadata":{"note":"\\ud800"}}', 'metadata.note', 'surrogate'],
      ['{"metadata":{"k\\u0000ey":"x"}}', 'metadata.k\u0000ey', 'NUL'],
      ['{"address":{"city":"\\udc00x"}}', 'address.city', 'surrogate'],
    ];
    for (const [rawBody, param, problem] of cases) {
      const response = await api.request('POST', '/v1/customers', { key, rawBody, headers: { 'content-type': 'application/json' } });
      expect(response.status, rawBody).toBe(400);
      expect(response.body.error.errors[0].param, rawBody).toBe(param);
      expect(response.body.error.message, rawBody).toMatch(problem);
    }
    // A valid pair (an emoji) is fine.
    const emoji = await api.request('POST', '/v1/customers', { key, rawBody: '{"name":"\\ud83d\\ude00"}', headers: { 'content-type': 'application/json' } });
    expect(emoji.status).toBe(201);
    expect(emoji.body.name).toBe('\u{1F600}');
    expect(await customerCount()).toBe(before + 1);
    const inQuery = await api.request('GET', '/v1/customers?email=a%00b@example.com', { key });
    expect(inQuery.status).toBe(400);
    expect(inQuery.body.error.param).toBe('email');
    const inPath = await api.request('PUT', '/v1/customers/external/shop/x%00y', { key, body: {} });
    expect(inPath.status).toBe(400);
    expect(inPath.body.error.param).toBe('external_id');
    const inBatch = await api.request('PUT', '/v1/customers/external/batch', {
      key,
      rawBody: '{"items":[{"source":"s","external_id":"ok-nul","name":"fine"},{"source":"s","external_id":"a\\u0000b"}]}',
      headers: { 'content-type': 'application/json' },
    });
    expect(inBatch.status).toBe(400);
    expect(inBatch.body.error.errors[0].param).toBe('items.1.external_id');
  });

  it('tags are printable characters only', async () => {
    for (const tag of ['a\u0007b', 'tab\tbed', 'zero\u200bwidth', 'new\nline', 'a,b', 'two words']) {
      const response = await api.request('POST', '/v1/customers', { key, body: { tags: [tag] } });
      expect(response.status, JSON.stringify(tag)).toBe(400);
      expect(response.body.error.param).toBe('tags.0');
    }
    const unicode = await api.request('POST', '/v1/customers', { key, body: { tags: ['vip', 'élite', '高级'] } });
    expect(unicode.status).toBe(201);
  });

  it('dates out of the storable range are a 400, not a 500', async () => {
    for (const value of ['99999999999999', '253402300800', '-1', '10000-01-01']) {
      const response = await api.request('GET', `/v1/customers?created[gte]=${value}`, { key });
      expect(response.status, value).toBe(400);
      expect(response.body.error.param, value).toBe('created[gte]');
    }
    expect((await api.request('GET', '/v1/customers?created[lte]=253402300799', { key })).status).toBe(200);
  });

  it('JSON nested deeper than 32 levels is refused before anything walks it', async () => {
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const response = await api.request('POST', '/v1/customers', { key, rawBody: `{"metadata":${deep}}`, headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ type: 'invalid_request', param: 'body' });
    expect(response.body.error.message).toMatch(/deeper than 32/);
    // With an Idempotency-Key too: the fingerprint of the body is never computed.
    const keyed = await api.request('POST', '/v1/customers', {
      key,
      rawBody: `{"metadata":${deep}}`,
      headers: { 'content-type': 'application/json', 'idempotency-key': 'deep-1' },
    });
    expect(keyed.status).toBe(400);
    const thirtyTwo = `${'['.repeat(31)}${']'.repeat(31)}`;
    const shallow = await api.request('POST', '/v1/customers', { key, rawBody: `{"metadata":${thirtyTwo}}`, headers: { 'content-type': 'application/json' } });
    // Parsed (depth is fine), then refused by the schema: metadata is an object of scalars.
    expect(shallow.status).toBe(400);
    expect(shallow.body.error.param).toBe('metadata');
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
