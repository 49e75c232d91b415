import { request } from 'node:http';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/lib/ids.js';
import { startTestApi, type TestApi, type TestResponse } from '../support/harness.js';

// The document is read as a client reads it, from /openapi.json, so these tests check what is
// served. It is JSON off the wire: typed loosely, the assertions check its shape.
type Document = any;

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;
const WRITES = new Set(['put', 'post', 'delete', 'patch']);

/** The endpoints the API promises, as `METHOD /path` in OpenAPI notation. */
const PROMISED = [
  'POST /v1/customers',
  'GET /v1/customers',
  'GET /v1/customers/{id}',
  'PATCH /v1/customers/{id}',
  'POST /v1/customers/{id}/tags',
  'DELETE /v1/customers/{id}/tags/{tag}',
  'PUT /v1/customers/external/{source}/{external_id}',
  'PUT /v1/customers/external/batch',
  'DELETE /v1/customers/{id}',
  'GET /v1/customers/{id}/deletion',
  'GET /v1/customers/{id}/payments',
  'GET /v1/customers/{id}/invoices',
  'GET /v1/customers/{id}/subscriptions',
  'GET /v1/customers/{id}/wallets',
  'GET /v1/customers/{id}/credit_notes',
  'GET /v1/customers/{id}/coupons',
  'POST /v1/customers/{id}/deletion/retry',
  'POST /v1/payments',
  'GET /v1/payments',
  'GET /v1/payments/{id}',
  'POST /v1/payments/{id}/refunds',
  'POST /v1/subscriptions',
  'GET /v1/subscriptions',
  'GET /v1/subscriptions/{id}',
  'POST /v1/subscriptions/{id}/cancel',
  'POST /v1/wallets',
  'GET /v1/wallets',
  'GET /v1/wallets/{id}/transactions',
  'POST /v1/wallets/{id}/transactions',
  'POST /v1/invoices',
  'GET /v1/invoices',
  'GET /v1/invoices/{id}',
  'POST /v1/invoices/{id}/finalize',
  'POST /v1/applied_coupons',
  'GET /v1/applied_coupons',
  'POST /v1/credit_notes',
  'GET /v1/credit_notes',
  'POST /v1/webhook_endpoints',
  'GET /v1/webhook_endpoints',
  'GET /v1/webhook_endpoints/{id}',
  'DELETE /v1/webhook_endpoints/{id}',
  'GET /v1/webhook_endpoints/{id}/deliveries',
  'GET /v1/events',
  'POST /v1/events/{id}/replay',
  'GET /v1/analytics/customers',
  'GET /v1/analytics/summary',
  'POST /v1/analytics/rollups',
  'GET /v1/analytics/rollups/{id}',
  'GET /health',
  'GET /ready',
  'POST /v1/sequences',
  'GET /v1/sequences',
  'GET /v1/sequences/{id}',
  'PATCH /v1/sequences/{id}',
  'POST /v1/sequences/{id}/archive',
  'POST /v1/sequences/{id}/preview',
  'POST /v1/sequences/{id}/enrollments',
  'GET /v1/sequences/{id}/enrollments',
  'DELETE /v1/sequences/{id}/enrollments/{customer_id}',
  'GET /v1/customers/{id}/enrollments',
  'GET /v1/customers/{id}/messages',
  'GET /v1/customers/{id}/opt_outs',
  'POST /v1/customers/{id}/opt_outs',
  'DELETE /v1/customers/{id}/opt_outs/{channel}',
  'GET /v1/suppressions',
  'DELETE /v1/suppressions/{id}',
  'GET /v1/settings',
  'PATCH /v1/settings',
];

function documentedOperations(doc: Document): string[] {
  return Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method]).map((method) => `${method.toUpperCase()} ${path}`),
  );
}

describe('OpenAPI document', () => {
  let api: TestApi;
  let key: string;
  /** Webhook endpoints get a merchant of their own, with no customer events to deliver. */
  let hooksKey: string;
  let doc: Document;
  let ajv: Ajv2020;

  /** Follows a `$ref` within the document. */
  const resolve = (node: any): any =>
    node?.$ref ? resolve((node.$ref as string).slice(2).split('/').reduce((at: any, part) => at[part], doc)) : node;

  const validatorFor = (schema: { $ref?: string }): ValidateFunction =>
    ajv.compile(schema.$ref ? { $ref: `openapi.json${schema.$ref}` } : schema);

  function requestBodyValidator(method: string, path: string): ValidateFunction {
    return validatorFor(doc.paths[path][method].requestBody.content['application/json'].schema);
  }

  /** Checks an actual response against what the document declares for its status. */
  function expectDocumented(method: string, path: string, response: TestResponse): void {
    const operation = doc.paths[path]?.[method];
    expect(operation, `${method.toUpperCase()} ${path} is documented`).toBeDefined();
    const declared = resolve(operation.responses[String(response.status)]);
    expect(declared, `${method.toUpperCase()} ${path} documents status ${response.status}`).toBeDefined();
    const validate = validatorFor(declared.content['application/json'].schema);
    expect(validate(response.body), `${response.status} body: ${ajv.errorsText(validate.errors)}`).toBe(true);
    for (const [name, header] of Object.entries(declared.headers ?? {})) {
      if (resolve(header).required) expect(response.headers.get(name), `header ${name}`).not.toBeNull();
    }
  }

  beforeAll(async () => {
    // One key walks every method of every path (well over the default burst of 200): rate limiting
    // is tested in rate-limit.test.ts, not here.
    api = await startTestApi({ RATE_LIMIT_BURST: '100000', RATE_LIMIT_PER_SECOND: '100000' });
    key = (await api.merchant('OpenAPI')).sandboxKey;
    hooksKey = (await api.merchant('OpenAPI webhooks')).sandboxKey;
    const response = await api.request('GET', '/openapi.json');
    expect(response.status).toBe(200);
    doc = response.body;
    // Formats are left out: ajv would need ajv-formats, and the routes' own checks are what the
    // samples below compare with.
    ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
    ajv.addSchema({ $id: 'openapi.json', components: doc.components });
  });
  afterAll(() => api.stop());

  it('is served without a key and is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  /** A documented path with placeholders filled in: well-formed ids that match no object. */
  const concrete = (path: string) =>
    path.replace(/\{(\w+)\}/g, (_, name: string) => {
      const schema = resolve(doc.paths[path][Object.keys(doc.paths[path])[0]!].parameters?.find((p: any) => p.name === name)?.schema);
      const pattern = schema?.pattern as string | undefined;
      const prefix = pattern?.match(/^\^(\w+)_/)?.[1];
      return prefix ? `${prefix}_01JD3Z6Q4W8V2G7R1M5K9T0XYZ` : 'x';
    });

  it('serves every documented operation, and answers 405 with Allow for any other method on its paths', async () => {
    const operations = documentedOperations(doc);
    expect(operations.length).toBeGreaterThan(15);
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      const documented = METHODS.filter((method) => item[method]);
      for (const method of documented) {
        const response = await api.request(method.toUpperCase(), concrete(path), { key });
        expect(response.status, `${method} ${path}`).not.toBe(405);
        expect(response.body?.error?.message ?? '', `${method} ${path}`).not.toMatch(/No such route/);
      }
      for (const method of METHODS.filter((m) => !item[m])) {
        const response = await api.request(method.toUpperCase(), concrete(path), { key });
        expect(response.status, `${method} ${path}`).toBe(405);
        const allow = response.headers.get('allow')!.split(', ').filter((m) => m !== 'HEAD');
        expect(allow, `${method} ${path}`).toEqual(documented.map((m) => m.toUpperCase()).sort());
        expect(response.body.error.type).toBe('invalid_request');
      }
    }
    // fetch refuses to send TRACE; node:http does.
    const trace = await new Promise<{ status?: number; allow?: string }>((done, fail) => {
      request(`${api.url}/health`, { method: 'TRACE' }, (res) => {
        res.resume();
        done({ status: res.statusCode, allow: res.headers.allow });
      })
        .on('error', fail)
        .end();
    });
    expect(trace).toEqual({ status: 405, allow: 'GET, HEAD' });
    const unknown = await api.request('GET', '/v1/nothing-here', { key });
    expect(unknown.status).toBe(404);
  });

  it('declares the shape of every id in paths and of every list cursor', () => {
    let checked = 0;
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const method of METHODS.filter((m) => item[m])) {
        for (const parameter of (item[method].parameters ?? []).map(resolve)) {
          const isId = parameter.in === 'path' && parameter.name === 'id';
          const isCursor = parameter.in === 'query' && parameter.name === 'starting_after';
          if (!isId && !isCursor) continue;
          checked += 1;
          expect(resolve(parameter.schema).pattern, `${method} ${path} ${parameter.name}`).toMatch(/^\^[a-z]+_\[0-9A-HJKMNP-TV-Z\]\{26\}\$$/);
        }
      }
    }
    expect(checked).toBeGreaterThan(10);
    const customerId = resolve(doc.paths['/v1/customers/{id}'].get.parameters.find((p: any) => p.name === 'id').schema);
    expect(new RegExp(customerId.pattern).test('cus_01JD3Z6Q4W8V2G7R1M5K9T0XYZ')).toBe(true);
    expect(new RegExp(customerId.pattern).test('we_01JD3Z6Q4W8V2G7R1M5K9T0XYZ')).toBe(false);
  });

  it('gives the Idempotency-Key no fixed example that tools would reuse across operations', () => {
    const serialized = JSON.stringify(doc);
    const idempotencyKey = resolve(doc.components.parameters.IdempotencyKey);
    expect(idempotencyKey.name).toBe('Idempotency-Key');
    expect(idempotencyKey.example).toBeUndefined();
    expect(idempotencyKey.schema.example).toBeUndefined();
    expect(idempotencyKey.examples).toBeUndefined();
    expect(serialized).not.toContain('0b6f3a52-8d7e-4c51-9a47-3f2f0a3b9c11');
  });

  it('documents every endpoint the API promises', () => {
    expect(documentedOperations(doc)).toEqual(expect.arrayContaining(PROMISED));
  });

  it('declares both ways to authenticate, and no key for the probes', () => {
    expect(doc.components.securitySchemes).toMatchObject({
      ApiKeyAuth: { type: 'apiKey', in: 'header', name: 'x-api-key' },
      BearerAuth: { type: 'http', scheme: 'bearer' },
    });
    expect(doc.security).toEqual([{ ApiKeyAuth: [] }, { BearerAuth: [] }]);
    expect(doc.paths['/health'].get.security).toEqual([]);
    expect(doc.paths['/ready'].get.security).toEqual([]);
  });

  it('takes an Idempotency-Key on every write and answers Idempotent-Replayed', () => {
    for (const [path, item] of Object.entries(doc.paths as Record<string, any>)) {
      for (const method of METHODS.filter((m) => item[m] && WRITES.has(m))) {
        const operation = item[method];
        const headers = (operation.parameters ?? []).map(resolve).filter((p: any) => p.in === 'header');
        expect(headers.map((p: any) => p.name), `${method} ${path}`).toContain('Idempotency-Key');
        const success = Object.entries(operation.responses).filter(([status]) => status.startsWith('2'));
        expect(success.length, `${method} ${path}`).toBeGreaterThan(0);
        for (const [status, response] of success) {
          expect(Object.keys(resolve(response).headers), `${method} ${path} ${status}`).toContain('Idempotent-Replayed');
        }
        expect(Object.keys(operation.responses), `${method} ${path}`).toEqual(expect.arrayContaining(['400', '401', '422', '500']));
      }
    }
    expect(Object.keys(doc.paths['/v1/customers/{id}'].delete.responses)).toContain('202');
  });

  it('gives examples that together make a customer the API accepts', async () => {
    const schema = resolve(doc.paths['/v1/customers'].post.requestBody.content['application/json'].schema);
    const example = Object.fromEntries(
      Object.entries(schema.properties as Record<string, any>).flatMap(([name, property]) => {
        const value = (property.anyOf ?? [property]).map((branch: any) => resolve(branch).example).find(Boolean);
        return value === undefined ? [] : [[name, value]];
      }),
    );
    expect(Object.keys(example)).toEqual(
      expect.arrayContaining(['external_id', 'external_source', 'email', 'phone', 'metadata', 'timezone', 'currency']),
    );
    const response = await api.request('POST', '/v1/customers', { key, body: example });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
  });

  it('rejects and accepts request bodies as the routes do', async () => {
    const created = await api.request('POST', '/v1/customers', { key, body: { email: 'bodies@openapi.test' } });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const samples: Array<{ method: string; path: string; url: string; body: unknown }> = [];
    const add = (method: string, path: string, url: string, ...bodies: unknown[]) =>
      samples.push(...bodies.map((body) => ({ method, path, url, body })));
    const keyFor = (path: string) => (path.startsWith('/v1/webhook_endpoints') ? hooksKey : key);

    add(
      'post',
      '/v1/customers',
      '/v1/customers',
      { email: 'sample-1@openapi.test', name: 'Sample', tags: ['vip'], metadata: { plan: 'pro', seats: 3 } },
      { email: 'sample-2@openapi.test', nickname: 'unknown field' },
      { email: 'sample-3@openapi.test', tags: ['two words'] },
      { email: 'sample-4@openapi.test', metadata: { nested: { not: 'allowed' } } },
      { name: '' },
    );
    add(
      'patch',
      '/v1/customers/{id}',
      `/v1/customers/${id}`,
      { metadata: { plan: null }, description: 'patched' },
      { currency: 5 },
      { address: { line1: 'Main St 1', planet: 'Mars' } },
    );
    add(
      'put',
      '/v1/customers/external/{source}/{external_id}',
      '/v1/customers/external/shop/ext-openapi-1',
      { name: 'Upserted', tags: ['a', 'b'] },
      { external_id: 'belongs in the path' },
    );
    add('post', '/v1/customers/{id}/tags', `/v1/customers/${id}/tags`, { tags: ['gold'] }, { tags: [] }, { tags: 'gold' });
    add(
      'post',
      '/v1/webhook_endpoints',
      '/v1/webhook_endpoints',
      { url: 'https://hooks.example.test/in', enabled_events: ['customer.created'] },
      { url: 'https://hooks.example.test/in', enabled_events: ['order.created'] },
      { description: 'no url' },
    );

    const outcomes: string[] = [];
    for (const { method, path, url, body } of samples) {
      const documentedValid = requestBodyValidator(method, path)(body);
      const response = await api.request(method.toUpperCase(), url, { key: keyFor(path), body });
      expect([200, 201, 400], JSON.stringify(response.body)).toContain(response.status);
      outcomes.push(`${method} ${path} ${JSON.stringify(body)}: document ${documentedValid}, route ${response.status !== 400}`);
      expect(documentedValid, outcomes.at(-1)).toBe(response.status !== 400);
    }
    // Both verdicts occur, so the comparison cannot pass by everything being accepted.
    expect(outcomes.filter((line) => line.endsWith('route true')).length).toBeGreaterThanOrEqual(5);
    expect(outcomes.filter((line) => line.endsWith('route false')).length).toBeGreaterThanOrEqual(8);
  });

  it('describes the bodies, statuses and headers the API actually answers with', async () => {
    const ask = (method: string, url: string, options: Parameters<TestApi['request']>[2] = {}) =>
      api.request(method, url, { key, ...options });

    const created = await ask('POST', '/v1/customers', {
      body: { email: 'shape@openapi.test', tags: ['shape'], address: { city: 'Paris', country: 'fr' } },
      headers: { 'idempotency-key': 'shape-create' },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('idempotent-replayed')).toBe('false');
    expectDocumented('post', '/v1/customers', created);
    const id = created.body.id as string;

    const checks: Array<[string, string, TestResponse]> = [
      ['get', '/v1/customers', await ask('GET', '/v1/customers?tag=shape&limit=1')],
      ['get', '/v1/customers/{id}', await ask('GET', `/v1/customers/${id}?expand=stats`)],
      ['get', '/v1/customers/{id}', await ask('GET', '/v1/customers/cus_missing')],
      ['get', '/v1/customers', await ask('GET', '/v1/customers?limit=0&tag=a%20b')],
      ['get', '/v1/customers', await api.request('GET', '/v1/customers')],
      ['patch', '/v1/customers/{id}', await ask('PATCH', `/v1/customers/${id}`, { body: { metadata: { a: 1 } } })],
      ['post', '/v1/customers', await ask('POST', '/v1/customers', { body: { email: 'shape@openapi.test' } })],
      ['post', '/v1/customers', await ask('POST', '/v1/customers', { rawBody: 'email=x', headers: { 'content-type': 'text/plain' } })],
      [
        'post',
        '/v1/customers',
        await ask('POST', '/v1/customers', { body: { email: 'other@openapi.test' }, headers: { 'idempotency-key': 'shape-create' } }),
      ],
      ['post', '/v1/customers/{id}/tags', await ask('POST', `/v1/customers/${id}/tags`, { body: { tags: ['more'] } })],
      ['delete', '/v1/customers/{id}/tags/{tag}', await ask('DELETE', `/v1/customers/${id}/tags/more`)],
      ['put', '/v1/customers/external/{source}/{external_id}', await ask('PUT', '/v1/customers/external/shop/shape-1', { body: { name: 'A' } })],
      ['put', '/v1/customers/external/{source}/{external_id}', await ask('PUT', '/v1/customers/external/shop/shape-1', { body: { name: 'B' } })],
      [
        'put',
        '/v1/customers/external/batch',
        await ask('PUT', '/v1/customers/external/batch', {
          body: { items: [{ source: 'shop', external_id: 'shape-2', name: 'C' }, { source: 'shop' }] },
        }),
      ],
      ['get', '/v1/customers/{id}/payments', await ask('GET', `/v1/customers/${id}/payments`)],
      ['get', '/v1/customers/{id}/invoices', await ask('GET', `/v1/customers/${id}/invoices`)],
      ['get', '/v1/customers/{id}/deletion', await ask('GET', `/v1/customers/${id}/deletion`)],
      ['delete', '/v1/customers/{id}', await ask('DELETE', `/v1/customers/${id}`)],
      ['get', '/v1/customers/{id}/deletion', await ask('GET', `/v1/customers/${id}/deletion`)],
      ['get', '/health', await api.request('GET', '/health')],
      ['get', '/ready', await api.request('GET', '/ready')],
    ];
    const hook = (method: string, url: string, body?: unknown) => api.request(method, url, { key: hooksKey, body });
    const endpoint = await hook('POST', '/v1/webhook_endpoints', { url: 'https://hooks.example.test/shape' });
    checks.push(
      ['post', '/v1/webhook_endpoints', endpoint],
      ['get', '/v1/webhook_endpoints', await hook('GET', '/v1/webhook_endpoints')],
      ['get', '/v1/webhook_endpoints/{id}', await hook('GET', `/v1/webhook_endpoints/${endpoint.body.id}`)],
      ['get', '/v1/webhook_endpoints/{id}/deliveries', await hook('GET', `/v1/webhook_endpoints/${endpoint.body.id}/deliveries`)],
      ['delete', '/v1/webhook_endpoints/{id}', await hook('DELETE', `/v1/webhook_endpoints/${endpoint.body.id}`)],
    );

    // Analytics, with a paying customer whose stats are written as the stats subscriber writes them.
    const payer = await ask('POST', '/v1/customers', { body: { email: 'payer@openapi.test' } });
    const { merchantId } = await api.runtime.db.customer.findUniqueOrThrow({ where: { id: payer.body.id } });
    await api.runtime.db.payment.create({
      data: { id: newId('payment'), merchantId, environment: 'sandbox', customerId: payer.body.id, amount: 4200n, currency: 'EUR', status: 'succeeded', source: 'api' },
    });
    await api.runtime.db.$transaction((tx) => api.runtime.services.stores.stats.refresh(tx, { ids: [payer.body.id] }));
    const rollup = await ask('POST', '/v1/analytics/rollups');
    checks.push(
      ['get', '/v1/customers/{id}', await ask('GET', `/v1/customers/${payer.body.id}?expand=stats`)],
      ['get', '/v1/analytics/customers', await ask('GET', '/v1/analytics/customers?currency=EUR&limit=5')],
      ['get', '/v1/analytics/customers', await ask('GET', '/v1/analytics/customers?currency=EURO')],
      ['get', '/v1/analytics/summary', await ask('GET', '/v1/analytics/summary')],
      ['post', '/v1/analytics/rollups', rollup],
      ['get', '/v1/analytics/rollups/{id}', await ask('GET', `/v1/analytics/rollups/${rollup.body.id}`)],
      ['get', '/v1/analytics/rollups/{id}', await ask('GET', '/v1/analytics/rollups/ltvr_01JD3Z6Q4W8V2G7R1M5K9T0XYZ')],
    );
    expect(checks.at(-6)![2].body.data).toEqual([expect.objectContaining({ customer_id: payer.body.id, total_spent: 4200 })]);

    for (const [method, path, response] of checks) expectDocumented(method, path, response);
    expect(checks.map(([, , response]) => response.status)).toEqual(
      expect.arrayContaining([200, 201, 202, 400, 401, 404, 409, 415, 422]),
    );
  });
});
