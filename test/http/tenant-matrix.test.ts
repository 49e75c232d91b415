import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertParkedEvent } from '../support/parked-event.js';
import { startTestApi, type TestApi } from '../support/harness.js';
import {
  documentedOperations,
  exampleBody,
  exampleOf,
  idPrefixOf,
  resolver,
  type DocumentedOperation,
  type OpenApiDocument,
} from '../support/openapi-samples.js';

// Every operation of /openapi.json, called with merchant A's sandbox objects by merchant B's sandbox
// key and by A's own live key: always 404 (or, for a list, nothing of A's), never the object, never
// 403. Built from the document, so a new endpoint is covered as soon as it is declared; a new kind
// of object needs one line in OBJECTS below, and the test says so when one is missing.

type Owner = (path: string, body?: unknown) => Promise<any>;
type Made = Map<string, string>;

/** How merchant A gets one object of each id kind the document's operations take. */
const OBJECTS: Record<string, (call: Owner, made: Made, api: TestApi) => Promise<string>> = {
  cus: async (call) => (await call('/v1/customers', { email: 'owner@tenant.test', name: 'Owner', tags: ['vip'], external_id: 'secret-ext' })).id,
  we: async (call) => (await call('/v1/webhook_endpoints', { url: 'https://hooks.example.com/owner' })).id,
  pay: async (call, made) => (await call('/v1/payments', { customer_id: made.get('cus'), amount: 1200, currency: 'EUR', status: 'succeeded' })).id,
  sub: async (call, made) =>
    (await call('/v1/subscriptions', { customer_id: made.get('cus'), plan_code: 'pro', amount: 4900, currency: 'EUR', billing_time: 'in_arrears' })).id,
  inv: async (call, made) => {
    const invoice = await call('/v1/invoices', { customer_id: made.get('cus'), currency: 'EUR', lines: [{ description: 'Setup', unit_amount: 5000 }] });
    await call(`/v1/invoices/${invoice.id}/finalize`);
    return invoice.id;
  },
  cn: async (call, made) => (await call('/v1/credit_notes', { invoice_id: made.get('inv'), amount: 100, reason: 'other' })).id,
  wal: async (call, made) => (await call('/v1/wallets', { customer_id: made.get('cus'), currency: 'EUR', granted_credits: 500 })).id,
  // The wallet's grant is its first transaction.
  wtx: async (_call, made, api) => (await api.runtime.db.walletTransaction.findFirstOrThrow({ where: { walletId: made.get('wal') } })).id,
  acp: async (call, made) => (await call('/v1/applied_coupons', { customer_id: made.get('cus'), coupon_code: 'TENANT', percent_off: 10 })).id,
  seq: async (call) =>
    (await call('/v1/sequences', { name: 'Owner', trigger_tag: 'owner-only', steps: [{ channel: 'email', template: { subject: 'x', text: 'x' } }] })).id,
  ltvr: async (call) => (await call('/v1/analytics/rollups')).id,
  // The customer's opt-out puts its address on A's suppression list.
  sup: async (call, made, api) => {
    await call(`/v1/customers/${made.get('cus')}/opt_outs`, { channel: 'email' });
    const customer = await api.runtime.db.customer.findUniqueOrThrow({ where: { id: made.get('cus') } });
    return (await api.runtime.db.suppression.findFirstOrThrow({ where: { merchantId: customer.merchantId, environment: 'sandbox' } })).id;
  },
  evt: async (_call, made, api) => insertParkedEvent(api.runtime.db, made.get('cus')!, 'owner-only failure'),
};
/** Operations an owner may call on its own objects without changing them. */
const isReadOnly = (operation: DocumentedOperation) => operation.method === 'get';

describe('tenant isolation, for every operation of the document', () => {
  let api: TestApi;
  let doc: OpenApiDocument;
  let a: Awaited<ReturnType<TestApi['merchant']>>;
  let b: Awaited<ReturnType<TestApi['merchant']>>;
  const made: Made = new Map();

  beforeAll(async () => {
    api = await startTestApi({ RATE_LIMIT_PER_SECOND: '100000', RATE_LIMIT_BURST: '100000' });
    doc = (await api.request('GET', '/openapi.json')).body;
    a = await api.merchant('Tenant A');
    b = await api.merchant('Tenant B');
    const owner: Owner = async (path, body) => {
      const response = await api.request('POST', path, { key: a.sandboxKey, body: body ?? {} });
      if (response.status >= 300) throw new Error(`making ${path}: ${response.status} ${JSON.stringify(response.body)}`);
      return response.body;
    };
    for (const [prefix, make] of Object.entries(OBJECTS)) made.set(prefix, await make(owner, made, api));
  });
  afterAll(() => api.stop());

  /** The request an attacker makes: A's objects wherever the operation takes an id of their kind. */
  function aimedAtA(operation: DocumentedOperation): { path: string; body?: unknown; query: string } {
    const resolve = resolver(doc);
    const path = operation.path.replace(/\{(\w+)\}/g, (_, name: string) => {
      const parameter = operation.pathParams.find((p) => p.name === name)!;
      const prefix = idPrefixOf(parameter.schema);
      return encodeURIComponent(prefix ? made.get(prefix)! : String(exampleOf(doc, parameter.schema)));
    });
    const query = new URLSearchParams();
    for (const parameter of operation.queryParams) {
      const prefix = idPrefixOf(parameter.schema);
      if (prefix && parameter.name !== 'starting_after' && made.has(prefix)) query.set(parameter.name, made.get(prefix)!);
      // A list that needs a filter (`?status=parked`, `?currency=`) is asked with its example.
      else if (parameter.required) query.set(parameter.name, String(exampleOf(doc, parameter.schema)));
    }
    let body: unknown;
    if (operation.body) {
      body = exampleBody(doc, operation);
      const properties = resolve(operation.body).properties ?? {};
      for (const [name, property] of Object.entries(properties as Record<string, unknown>)) {
        const prefix = idPrefixOf(resolve(property)) ?? idPrefixOf(resolve(property)?.anyOf?.find((p: any) => resolve(p).pattern));
        if (prefix && made.has(prefix)) (body as Record<string, unknown>)[name] = made.get(prefix);
      }
    }
    return { path, body, query: query.size ? `?${query}` : '' };
  }

  it('knows how to make an object of every kind an operation takes', () => {
    const kinds = new Set(
      documentedOperations(doc).flatMap((operation) => operation.pathParams.map((p) => idPrefixOf(p.schema)).filter(Boolean)),
    );
    expect([...kinds].filter((kind) => !OBJECTS[kind!])).toEqual([]);
    expect(kinds.size).toBeGreaterThan(5);
  });

  it("answers 404 to another merchant's key and to the same merchant's other environment, never the object", async () => {
    const operations = documentedOperations(doc).filter((operation) => operation.path.startsWith('/v1/'));
    const secrets = [...made.values(), 'owner@tenant.test', 'secret-ext'];
    const failures: string[] = [];
    let aimed = 0;
    for (const operation of operations) {
      const request = aimedAtA(operation);
      // An operation on A's object (by path or in the body) must not find it: 404. A list filtered on
      // A's object may answer, as long as nothing of A's is in it.
      const takesA = operation.pathParams.some((p) => idPrefixOf(p.schema)) || JSON.stringify(request.body ?? {}).match(/_[0-9A-Z]{26}/);
      if (takesA || request.query) aimed += 1;
      for (const [who, key] of [
        ['merchant B sandbox', b.sandboxKey],
        ['merchant A live', a.liveKey],
      ] as const) {
        const response = await api.request(operation.method.toUpperCase(), `${request.path}${request.query}`, { key, body: request.body });
        const text = JSON.stringify(response.body);
        const leaked = secrets.filter((secret) => text.includes(secret) && !request.path.includes(secret) && !JSON.stringify(request.body ?? '').includes(secret) && !request.query.includes(secret));
        const where = `${who}: ${operation.method.toUpperCase()} ${operation.path} -> ${response.status} ${text.slice(0, 160)}`;
        if (response.status === 403) failures.push(`403 is a hint: ${where}`);
        if (leaked.length) failures.push(`leaks ${leaked.join(', ')}: ${where}`);
        if (takesA && response.status !== 404) failures.push(`not 404: ${where}`);
        if (response.status === 404 && response.body?.error?.type !== 'not_found') failures.push(`404 without not_found: ${where}`);
      }
    }
    expect(failures).toEqual([]);
    expect(aimed).toBeGreaterThan(20);
  });

  it("leaves A's objects as they were, and A itself reads each of them", async () => {
    // The reads of an object by its id: `/v1/<objects>/{id}`.
    for (const operation of documentedOperations(doc).filter((o) => isReadOnly(o) && /^\/v1\/\w+\/\{id\}$/.test(o.path))) {
      const request = aimedAtA(operation);
      const response = await api.request('GET', `${request.path}${request.query}`, { key: a.sandboxKey });
      expect(response.status, `${operation.path}: ${JSON.stringify(response.body).slice(0, 200)}`).toBe(200);
    }
    const customer = await api.request('GET', `/v1/customers/${made.get('cus')}`, { key: a.sandboxKey });
    expect(customer.body).toMatchObject({ status: 'active', email: 'owner@tenant.test', tags: ['vip'] });
    const endpoint = await api.request('GET', `/v1/webhook_endpoints/${made.get('we')}`, { key: a.sandboxKey });
    expect(endpoint.body.status).toBe('enabled');
    // A's email address is on A's sandbox suppression list, found by the address in any case.
    const suppressions = await api.request('GET', '/v1/suppressions?address=OWNER@tenant.test', { key: a.sandboxKey });
    expect(suppressions.body.data.map((row: { id: string }) => row.id)).toEqual([made.get('sup')]);
    const parked = await api.request('GET', '/v1/events?status=parked', { key: a.sandboxKey });
    expect(parked.body.data.map((event: { id: string }) => event.id)).toEqual([made.get('evt')]);
  });
});
