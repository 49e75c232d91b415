import { randomUUID } from 'node:crypto';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertParkedEvent } from '../support/parked-event.js';
import { startTestApi, type TestApi, type TestResponse } from '../support/harness.js';
import {
  documentedOperations,
  exampleOf,
  idPrefixOf,
  resolver,
  WRITE_METHODS,
  type DocumentedOperation,
  type OpenApiDocument,
} from '../support/openapi-samples.js';

// Every operation's request, made of the examples /openapi.json declares (the body's, each
// parameter's), is accepted: a client that copies the document's examples gets 2xx. Ids in the
// examples are placeholders; each operation runs for a merchant of its own, against objects made
// for it first in the state the operation needs, their ids in place of the placeholders.

type Json = any;
type Call = (method: string, path: string, body?: unknown) => Promise<TestResponse>;
/** Makes one object of an id kind for a merchant: `need` gives the objects it depends on. */
type Maker = (call: Call, need: (prefix: string) => Promise<string>, api: TestApi) => Promise<string>;

/** The placeholder every id example uses (src/lib/ids.ts). */
const PLACEHOLDER = /^([a-z]+)_01JD3Z6Q4W8V2G7R1M5K9T0XYZ$/;

const made = async (response: TestResponse, what: string): Promise<Json> => {
  if (response.status >= 300) throw new Error(`making ${what}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
};

const OBJECTS: Record<string, Maker> = {
  cus: async (call) => (await made(await call('POST', '/v1/customers', { email: `owner-${randomUUID()}@example.com`, name: 'Ada Owner', tags: ['vip'] }), 'customer')).id,
  we: async (call) => (await made(await call('POST', '/v1/webhook_endpoints', { url: 'https://hooks.example.com/examples' }), 'endpoint')).id,
  pay: async (call, need) =>
    (await made(await call('POST', '/v1/payments', { customer_id: await need('cus'), amount: 1999, currency: 'USD', status: 'succeeded' }), 'payment')).id,
  sub: async (call, need) =>
    (await made(await call('POST', '/v1/subscriptions', { customer_id: await need('cus'), plan_code: 'pro', amount: 4900, currency: 'USD' }), 'subscription')).id,
  inv: async (call, need) => {
    const body = { customer_id: await need('cus'), currency: 'USD', lines: [{ description: 'Setup', unit_amount: 50000 }] };
    const invoice = await made(await call('POST', '/v1/invoices', body), 'invoice');
    await made(await call('POST', `/v1/invoices/${invoice.id}/finalize`), 'finalized invoice');
    return invoice.id;
  },
  cn: async (call, need) => (await made(await call('POST', '/v1/credit_notes', { invoice_id: await need('inv'), amount: 100, reason: 'other' }), 'credit note')).id,
  wal: async (call, need) =>
    (await made(await call('POST', '/v1/wallets', { customer_id: await need('cus'), currency: 'USD', granted_credits: 5000 }), 'wallet')).id,
  // The wallet's grant is its first transaction.
  wtx: async (_call, need, api) => (await api.runtime.db.walletTransaction.findFirstOrThrow({ where: { walletId: await need('wal') } })).id,
  acp: async (call, need) =>
    (await made(await call('POST', '/v1/applied_coupons', { customer_id: await need('cus'), coupon_code: 'OWNER', percent_off: 10 }), 'coupon')).id,
  seq: async (call) =>
    (
      await made(
        await call('POST', '/v1/sequences', { name: 'Owner', trigger_tag: 'owner-only', steps: [{ channel: 'email', template: { subject: 'x', text: 'x' } }] }),
        'sequence',
      )
    ).id,
  ltvr: async (call) => (await made(await call('POST', '/v1/analytics/rollups'), 'rollup')).id,
  // An opt-out puts the customer's address on the suppression list.
  sup: async (call, need, api) => {
    const customerId = await need('cus');
    await made(await call('POST', `/v1/customers/${customerId}/opt_outs`, { channel: 'email' }), 'opt-out');
    const customer = await api.runtime.db.customer.findUniqueOrThrow({ where: { id: customerId } });
    return (await api.runtime.db.suppression.findFirstOrThrow({ where: { merchantId: customer.merchantId, environment: 'sandbox' } })).id;
  },
  evt: async (_call, need, api) => insertParkedEvent(api.runtime.db, await need('cus'), 'examples'),
};

/** Where an operation needs its objects in another state than the makers leave them. */
const STATES: Record<string, Partial<Record<string, Maker>>> = {
  succeedPayment: { pay: pendingPayment },
  failPayment: { pay: pendingPayment },
  finalizeInvoice: { inv: draftInvoice },
  voidInvoice: { inv: draftInvoice },
  getCustomerDeletion: { cus: deletedCustomer },
  retryCustomerDeletion: { cus: deletedCustomer },
};

/** What the operation needs done first, beyond its objects. */
const BEFORE: Record<string, (call: Call, need: (prefix: string) => Promise<string>) => Promise<void>> = {
  removeEnrollment: async (call, need) => {
    await made(await call('POST', `/v1/sequences/${await need('seq')}/enrollments`, { customer_id: await need('cus') }), 'enrolment');
  },
  deleteCustomerOptOut: async (call, need) => {
    await made(await call('POST', `/v1/customers/${await need('cus')}/opt_outs`, { channel: 'email' }), 'opt-out');
  },
};

/**
 * Refusals by a business rule that the example request meets by its nature, each listed in
 * docs/api.md ("What the schema cannot say"): the status and error type expected instead of 2xx.
 */
const BUSINESS_RULE_REFUSALS: Record<string, { status: number; type: string; why: string }> = {
  retryCustomerDeletion: { status: 409, type: 'conflict', why: 'only a deletion waiting for action (action_required) can be retried' },
};

async function pendingPayment(call: Call, need: (prefix: string) => Promise<string>): Promise<string> {
  return (await made(await call('POST', '/v1/payments', { customer_id: await need('cus'), amount: 1999, currency: 'USD' }), 'pending payment')).id;
}

async function draftInvoice(call: Call, need: (prefix: string) => Promise<string>): Promise<string> {
  const body = { customer_id: await need('cus'), currency: 'USD', lines: [{ description: 'Draft', unit_amount: 1000 }] };
  return (await made(await call('POST', '/v1/invoices', body), 'draft invoice')).id;
}

async function deletedCustomer(call: Call): Promise<string> {
  const customer = await made(await call('POST', '/v1/customers', { email: `leaving-${randomUUID()}@example.com` }), 'customer');
  await made(await call('DELETE', `/v1/customers/${customer.id}`), 'deletion');
  return customer.id;
}

describe('the request examples of /openapi.json', () => {
  let api: TestApi;
  let doc: OpenApiDocument;
  let ajv: Ajv2020;
  let operations: DocumentedOperation[];

  beforeAll(async () => {
    api = await startTestApi({ RATE_LIMIT_PER_SECOND: '100000', RATE_LIMIT_BURST: '100000' });
    const response = await api.request('GET', '/openapi.json');
    expect(response.status).toBe(200);
    doc = response.body;
    operations = documentedOperations(doc);
    ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
    ajv.addSchema({ $id: 'openapi.json', components: doc.components });
  });
  afterAll(() => api.stop());

  const validatorFor = (schema: { $ref?: string }): ValidateFunction =>
    ajv.compile(schema.$ref ? { $ref: `openapi.json${schema.$ref}` } : schema);

  /** The example the document declares for a schema (itself, its reference, or a branch of it). */
  function declaredExample(input: Json): unknown {
    const schema = resolver(doc)(input);
    if (!schema) return undefined;
    if (schema.example !== undefined) return schema.example;
    if (schema.examples?.length) return schema.examples[0];
    for (const branch of schema.anyOf ?? schema.oneOf ?? []) {
      const example = declaredExample(branch);
      if (example !== undefined) return example;
    }
    return undefined;
  }

  /** The body a client copies from the document: the operation's example, else its schema's. */
  function bodyExample(operation: DocumentedOperation): unknown {
    return operation.bodyExample ?? declaredExample(doc.paths[operation.path][operation.method].requestBody.content['application/json'].schema);
  }

  it('gives every request body an example that its own schema accepts', () => {
    const withBody = operations.filter((operation) => operation.body);
    expect(withBody.length).toBeGreaterThan(15);
    const problems: string[] = [];
    for (const operation of withBody) {
      const example = bodyExample(operation);
      const label = `${operation.operationId} (${operation.method.toUpperCase()} ${operation.path})`;
      if (example === undefined) {
        problems.push(`${label}: no example`);
        continue;
      }
      const validate = validatorFor(doc.paths[operation.path][operation.method].requestBody.content['application/json'].schema);
      if (!validate(example)) problems.push(`${label}: ${ajv.errorsText(validate.errors)}`);
    }
    expect(problems).toEqual([]);
  });

  it('accepts the request each operation makes of its examples', async () => {
    const outcomes: string[] = [];
    const failures: string[] = [];
    for (const operation of operations) {
      const { sandboxKey } = await api.merchant(`Examples ${operation.operationId}`);
      const call: Call = (method, path, body) =>
        api.request(method, path, {
          key: sandboxKey,
          body,
          headers: WRITE_METHODS.has(method.toLowerCase()) ? { 'idempotency-key': randomUUID() } : {},
        });
      const objects = new Map<string, Promise<string>>();
      const makers = { ...OBJECTS, ...STATES[operation.operationId] };
      const need = (prefix: string): Promise<string> => {
        const maker = makers[prefix];
        if (!maker) throw new Error(`${operation.operationId}: no way to make a '${prefix}' object for its examples`);
        if (!objects.has(prefix)) objects.set(prefix, maker(call, need, api));
        return objects.get(prefix)!;
      };
      /** An example with each id placeholder replaced by an object made for it. */
      const withObjects = async (value: unknown): Promise<unknown> => {
        if (typeof value === 'string') {
          const prefix = value.match(PLACEHOLDER)?.[1];
          return prefix ? need(prefix) : value;
        }
        if (Array.isArray(value)) return Promise.all(value.map(withObjects));
        if (value !== null && typeof value === 'object') {
          return Object.fromEntries(await Promise.all(Object.entries(value).map(async ([key, item]) => [key, await withObjects(item)])));
        }
        return value;
      };

      let path = operation.path;
      for (const parameter of operation.pathParams) {
        const example = declaredExample(parameter.schema);
        expect(example, `${operation.operationId}: path parameter ${parameter.name} has an example`).toBeDefined();
        path = path.replace(`{${parameter.name}}`, encodeURIComponent(String(await withObjects(example))));
      }
      const query = new URLSearchParams();
      for (const parameter of operation.queryParams) {
        // A cursor continues a list after one of its objects: a page of it, not an example.
        if (parameter.name === 'starting_after') continue;
        const example = declaredExample(parameter.schema) ?? (parameter.required ? exampleOf(doc, parameter.schema) : undefined);
        if (example === undefined) continue;
        for (const value of [example].flat()) query.append(parameter.name, String(await withObjects(value)));
      }
      const body = operation.body ? await withObjects(structuredClone(bodyExample(operation))) : undefined;
      await BEFORE[operation.operationId]?.(call, need);

      const url = `${path}${query.size ? `?${query}` : ''}`;
      const response = await call(operation.method.toUpperCase(), url, body);
      const outcome = `${operation.operationId}: ${operation.method.toUpperCase()} ${url} ${JSON.stringify(body) ?? ''} -> ${response.status} ${JSON.stringify(response.body).slice(0, 300)}`;
      outcomes.push(outcome);
      const refusal = BUSINESS_RULE_REFUSALS[operation.operationId];
      const accepted = refusal
        ? response.status === refusal.status && response.body?.error?.type === refusal.type
        : response.status >= 200 && response.status < 300;
      if (!accepted) failures.push(outcome);
    }
    expect(failures).toEqual([]);
    // Every documented operation was called, most of them with a request that reached its handler.
    expect(outcomes).toHaveLength(operations.length);
    expect(operations.length).toBeGreaterThan(60);
  }, 300_000);
});
