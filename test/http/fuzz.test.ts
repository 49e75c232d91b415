import fc from 'fast-check';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapWithConcurrency } from '../../src/lib/concurrency.js';
import { startTestApi, type TestApi } from '../support/harness.js';
import {
  arbitraryOf,
  documentedOperations,
  exampleBody,
  idPrefixOf,
  invalidArbitraryOf,
  WRITE_METHODS,
  type DocumentedOperation,
  type OpenApiDocument,
} from '../support/openapi-samples.js';

// Every operation of /openapi.json, with generated valid and invalid params, queries, bodies and
// headers. A fixed seed in the suite (FUZZ_SEED overrides it; `npm run chaos` draws a random one).
const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
// `npm test` sends 1,500: about 19 per operation, so each one still gets its real ids, generated
// and invalid values and broken bodies more than once, in under half a minute. `npm run
// test:long` sends 10,000 (the same 1,500 first) and `npm run chaos` 10,000 of a random seed:
// over 4 minutes on a quiet 2-core machine (Prisma's query compiler, the API and the generator
// share one process) and much longer beside the rest of the suite: hence the generous timeout.
// FUZZ_DEBUG=1 prints where the time went, per operation.
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 1_500);

interface FuzzRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  operation: string;
}

describe(`fuzzing every operation from /openapi.json (seed ${SEED})`, () => {
  let api: TestApi;
  let key: string;
  let merchantId: string;
  let doc: OpenApiDocument;
  let validateError: ValidateFunction;
  const realIds = new Map<string, string[]>();

  beforeAll(async () => {
    api = await startTestApi({ RATE_LIMIT_PER_SECOND: '100000', RATE_LIMIT_BURST: '100000' });
    ({ sandboxKey: key, merchantId } = await api.merchant('Fuzzed'));
    doc = (await api.request('GET', '/openapi.json')).body;
    const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
    ajv.addSchema({ $id: 'openapi.json', components: doc.components });
    validateError = ajv.compile({ $ref: 'openapi.json#/components/schemas/Error' });
    // Real objects to aim at, so requests reach the handlers and not only the 404 of unknown ids.
    for (let i = 0; i < 5; i++) {
      const customer = await api.request('POST', '/v1/customers', { key, body: { email: `fuzz-${i}@example.com`, tags: ['fuzz'] } });
      realIds.set('cus', [...(realIds.get('cus') ?? []), customer.body.id]);
    }
    const endpoint = await api.request('POST', '/v1/webhook_endpoints', { key, body: { url: 'https://hooks.example.com/fuzz' } });
    realIds.set('we', [endpoint.body.id]);
  });
  afterAll(() => api.stop());

  function requestArbitrary(operations: DocumentedOperation[]): fc.Arbitrary<FuzzRequest> {
    return fc.constantFrom(...operations).chain((operation) => {
      const param = (schema: unknown) => {
        const prefix = idPrefixOf(schema);
        const real = prefix ? realIds.get(prefix) : undefined;
        return fc.oneof(
          { arbitrary: real?.length ? fc.constantFrom(...real) : arbitraryOf(doc, schema), weight: 4 },
          { arbitrary: arbitraryOf(doc, schema), weight: 2 },
          { arbitrary: invalidArbitraryOf(doc, schema), weight: 1 },
        );
      };
      const params = fc.record(Object.fromEntries(operation.pathParams.map((p) => [p.name, param(p.schema)])));
      const query = fc.record(
        Object.fromEntries(
          operation.queryParams.map((q) => {
            // An id filter or cursor aims at a real object; a random id would only ever match nothing.
            const prefix = idPrefixOf(q.schema);
            const valid = prefix ? (realIds.get(prefix)?.length ? fc.constantFrom(...realIds.get(prefix)!) : fc.constant(undefined)) : arbitraryOf(doc, q.schema);
            return [q.name, fc.oneof({ arbitrary: valid, weight: 6 }, { arbitrary: invalidArbitraryOf(doc, q.schema), weight: 1 })];
          }),
        ),
        { requiredKeys: [] },
      );
      const body = operation.body
        ? fc.oneof(
            { arbitrary: fc.constant(JSON.stringify(exampleBody(doc, operation))), weight: 3 },
            { arbitrary: arbitraryOf(doc, operation.body).map((value) => JSON.stringify(value)), weight: 3 },
            { arbitrary: invalidArbitraryOf(doc, operation.body).map((value) => JSON.stringify(value)), weight: 3 },
            { arbitrary: fc.constantFrom('{', '[]', 'null', '"text"', '{"a":', '\u0000', '{"__proto__":{"x":1}}'), weight: 1 },
          )
        : operation.method === 'get'
          ? fc.constant(undefined)
          : fc.oneof(fc.constant(undefined), fc.constant('{"unexpected":true}'));
      const idempotencyKey = WRITE_METHODS.has(operation.method)
        ? fc.oneof(
            { arbitrary: fc.constant(undefined), weight: 5 },
            { arbitrary: fc.uuid(), weight: 3 },
            { arbitrary: fc.constantFrom('', 'k'.repeat(300), 'shared-key'), weight: 1 },
          )
        : fc.constant(undefined);
      const contentType = fc.oneof(
        { arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8'), weight: 9 },
        { arbitrary: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded'), weight: 1 },
      );
      return fc.record({ params, query, body, idempotencyKey, contentType }).map(({ params, query, body, idempotencyKey, contentType }) => {
        const text = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value) ?? 'undefined');
        // A lone surrogate has no UTF-8 form: it travels as the bytes a sloppy encoder would send.
        const segment = (value: unknown) => text(value).split(/(\p{Cs})/u).map((part, i) => (i % 2 ? '%ED%A0%80' : encodeURIComponent(part))).join('');
        const path = operation.path.replace(/\{(\w+)\}/g, (_, name: string) => segment((params as Record<string, unknown>)[name]));
        const search = new URLSearchParams();
        for (const [name, value] of Object.entries(query as Record<string, unknown>)) {
          if (value === undefined) continue;
          for (const item of Array.isArray(value) ? value : [value]) search.append(name, text(item).replace(/\p{Cs}/gu, '\ufffd'));
        }
        const headers: Record<string, string> = { 'x-api-key': key };
        if (body !== undefined) headers['content-type'] = contentType;
        if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
        return {
          method: operation.method.toUpperCase(),
          url: `${path}${search.size ? `?${search}` : ''}`,
          headers,
          body,
          operation: `${operation.method.toUpperCase()} ${operation.path}`,
        };
      });
    });
  }

  it(`answers ${REQUESTS.toLocaleString()} generated requests without a 5xx, every 4xx in the documented error shape`, async () => {
    const operations = documentedOperations(doc).filter((operation) => !['/health', '/ready'].includes(operation.path));
    const requests = fc.sample(requestArbitrary(operations), { numRuns: REQUESTS, seed: SEED });
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    const perOperation = new Map<string, number>();
    const slowest: [number, string][] = [];
    await mapWithConcurrency(requests, 16, async (request) => {
      const started = performance.now();
      const send = () => fetch(`${api.url}${request.url}`, { method: request.method, headers: request.headers, body: request.body });
      let response: Response;
      try {
        // A keep-alive connection closed by the server as the client reused it is the transport's
        // race, not an answer: sent again once, as any HTTP client would.
        response = await send().catch(send);
      } catch (error) {
        failures.push(`no answer (${(error as Error).cause ?? error}): ${request.method} ${request.url} ${request.body?.slice(0, 200)}`);
        return;
      }
      slowest.push([performance.now() - started, `${request.operation} ${response.status}`]);
      const text = await response.text();
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      perOperation.set(request.operation, (perOperation.get(request.operation) ?? 0) + 1);
      if (response.status >= 500) failures.push(`${response.status} ${request.method} ${request.url} ${request.body?.slice(0, 200)} -> ${text.slice(0, 300)}`);
      else if (response.status >= 400 && response.status !== 405) {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
        if (!validateError(body)) failures.push(`${response.status} not in the error shape: ${request.method} ${request.url} -> ${text.slice(0, 300)}`);
      }
    });
    if (process.env.FUZZ_DEBUG) {
      // Where the run's time went: total milliseconds and count per operation and status.
      const byOperation = new Map<string, [number, number]>();
      for (const [ms, label] of slowest) {
        const [total, count] = byOperation.get(label) ?? [0, 0];
        byOperation.set(label, [total + ms, count + 1]);
      }
      console.log([...byOperation].sort((a, b) => b[1][0] - a[1][0]).slice(0, 25).map(([label, [total, count]]) => `${Math.round(total)} ms / ${count}: ${label}`));
    }
    expect(failures.slice(0, 20)).toEqual([]);
    // Every operation was exercised, and both verdicts are common: the generator is not all noise.
    expect([...perOperation.keys()].sort()).toEqual(operations.map((o) => `${o.method.toUpperCase()} ${o.path}`).sort().filter((v, i, a) => a.indexOf(v) === i));
    const count = (test: (status: number) => boolean) => [...statuses].filter(([status]) => test(status)).reduce((sum, [, n]) => sum + n, 0);
    expect(count((status) => status < 300)).toBeGreaterThan(REQUESTS / 20);
    expect(count((status) => status >= 400)).toBeGreaterThan(REQUESTS / 4);
  }, 1_800_000);

  it('leaves the database consistent: no half-written customer, no orphan event', async () => {
    const db = api.runtime.db;
    const customers = await db.customer.findMany({ where: { merchantId }, select: { id: true, status: true } });
    expect(customers.length).toBeGreaterThan(5);
    const created = await db.event.groupBy({ by: ['customerId'], where: { merchantId, type: 'customer.created' }, _count: { _all: true } });
    const createdCount = new Map(created.map((row) => [row.customerId, row._count._all]));
    expect(customers.filter((customer) => createdCount.get(customer.id) !== 1)).toEqual([]);
    const ids = new Set(customers.map((customer) => customer.id));
    const orphans = await db.event.findMany({ where: { merchantId, customerId: { not: null } }, select: { id: true, customerId: true } });
    expect(orphans.filter((event) => !ids.has(event.customerId!))).toEqual([]);
    const deleting = await db.customer.findMany({ where: { merchantId, status: { not: 'active' } }, include: { deletion: true } });
    expect(deleting.filter((customer) => !customer.deletion)).toEqual([]);
  });
});
