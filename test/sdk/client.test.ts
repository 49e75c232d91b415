import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATIONS } from '../../src/operations.js';
import { ApiRequestError, createClient, type Client } from '../../src/sdk/client.js';
import { startTestApi, type TestApi } from '../support/harness.js';

interface Sent {
  method: string;
  url: URL;
  headers: Headers;
  status: number;
}

describe('SDK client derived from the operations, against the running API', () => {
  let api: TestApi;
  let client: Client;
  const sent: Sent[] = [];

  /** The real fetch, noting each exchange so tests can see headers and statuses the SDK hides. */
  const recordingFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    sent.push({
      method: init?.method ?? 'GET',
      url: new URL(String(input)),
      headers: new Headers(init?.headers),
      status: response.status,
    });
    return response;
  };

  beforeAll(async () => {
    api = await startTestApi();
    const { sandboxKey } = await api.merchant('SDK');
    client = createClient({ apiKey: sandboxKey, baseUrl: `${api.url}/`, fetch: recordingFetch });
  });
  afterAll(() => api.stop());

  it('has one method per operation, named by its operationId', () => {
    expect(Object.keys(client).sort()).toEqual(Object.keys(OPERATIONS).sort());
  });

  it('upserts by source and external id: created, then the same one updated', async () => {
    // A slash and a space: the SDK must keep the external id one path segment.
    const externalId = `user/${randomUUID()} a`;
    const params = { source: 'shopify', external_id: externalId };
    const first = await client.upsertCustomer({ params, body: { email: 'ada@sdk.test', name: 'Ada', metadata: { plan: 'free' } } });
    expect(first.created).toBe(true);
    expect(sent.at(-1)?.status).toBe(201);
    expect(first.data).toMatchObject({ external_id: externalId, external_source: 'shopify', email: 'ada@sdk.test' });

    const second = await client.upsertCustomer({ params, body: { name: 'Ada Lovelace' } });
    expect(second).toMatchObject({ created: false, warnings: [], data: { id: first.data.id, name: 'Ada Lovelace', email: 'ada@sdk.test' } });
    expect(sent.at(-1)?.status).toBe(200);
  });

  it('gets a customer, with stats when expanded', async () => {
    const customer = await client.createCustomer({ body: { email: 'get@sdk.test', name: 'Get' } });
    expect(await client.getCustomer({ params: { id: customer.id } })).toEqual(customer);
    const expanded = await client.getCustomer({ params: { id: customer.id }, query: { expand: ['stats'] } });
    expect(expanded.stats).toEqual({
      total_spent: {},
      payment_count: 0,
      invoice_count: 0,
      first_payment_at: null,
      last_payment_at: null,
      subscription_status: 'none',
      mrr: {},
      computed_at: null,
      currencies: [],
    });
  });

  it('lists by tag with the total and has_more; a Date query value travels as ISO 8601', async () => {
    const tag = `cohort-${randomUUID().slice(0, 8)}`;
    // A second of slack: the timestamps come from the database's clock.
    const before = new Date(Date.now() - 1000);
    const ids: string[] = [];
    for (const n of [1, 2, 3]) ids.push((await client.createCustomer({ body: { name: `Tagged ${n}`, tags: [tag] } })).id);
    await client.createCustomer({ body: { name: 'Untagged' } });

    const firstPage = await client.listCustomers({ query: { tag, limit: 2 } });
    expect(firstPage).toMatchObject({ object: 'list', total: 3, has_more: true });
    expect(firstPage.data.map((c) => c.id)).toEqual([ids[2], ids[1]]);
    const secondPage = await client.listCustomers({ query: { tag, limit: 2, offset: 2 } });
    expect(secondPage).toMatchObject({ total: 3, has_more: false });
    expect(secondPage.data.map((c) => c.id)).toEqual([ids[0]]);

    expect((await client.listCustomers({ query: { tag, 'created[gte]': before } })).total).toBe(3);
    expect((await client.listCustomers({ query: { tag, 'created[gte]': new Date(Date.now() + 60_000) } })).total).toBe(0);
  });

  it('updates, tags and deletes through the typed methods', async () => {
    const customer = await client.createCustomer({ body: { metadata: { plan: 'pro', seats: 5, trial: true }, tags: ['a'] } });
    const updated = await client.updateCustomer({ params: { id: customer.id }, body: { metadata: { seats: 7, trial: null, region: 'eu' } } });
    expect(updated.metadata).toEqual({ plan: 'pro', seats: 7, region: 'eu' });
    expect((await client.addCustomerTags({ params: { id: customer.id }, body: { tags: ['b', 'c'] } })).tags).toEqual(['a', 'b', 'c']);
    expect((await client.removeCustomerTag({ params: { id: customer.id, tag: 'b' } })).tags).toEqual(['a', 'c']);
    const deletion = await client.deleteCustomer({ params: { id: customer.id } });
    expect(sent.at(-1)?.status).toBe(202);
    expect(deletion).toMatchObject({
      object: 'customer_deletion',
      customer_id: customer.id,
      workflow_id: `customer-deletion:${customer.id}`,
      status_url: `/v1/customers/${customer.id}/deletion`,
    });
  });

  it('raises ApiRequestError with the invalid field', async () => {
    const failure = await client.createCustomer({ body: { email: 'not-an-email' } }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApiRequestError);
    expect(failure).toMatchObject({
      status: 400,
      type: 'invalid_request',
      param: 'email',
      errors: [{ param: 'email', message: 'expected an email address' }],
      requestId: expect.stringMatching(/^req_/),
    });
  });

  it('raises unexpected_response for an answer that is not the API error body', async () => {
    const behindProxy = createClient({
      apiKey: 'sk_sandbox_x',
      baseUrl: api.url,
      fetch: async () => new Response('<html>Bad gateway</html>', { status: 502, headers: { 'request-id': 'req_proxy' } }),
    });
    await expect(behindProxy.listCustomers()).rejects.toMatchObject({
      status: 502,
      type: 'unexpected_response',
      requestId: 'req_proxy',
      message: expect.stringContaining('Bad gateway'),
    });
  });

  it('raises not_found for an unknown customer', async () => {
    await expect(client.getCustomer({ params: { id: 'cus_01JD3Z6Q4W8V2G7R1M5K9T0XYZ' } })).rejects.toMatchObject({
      status: 404,
      type: 'not_found',
      param: 'id',
    });
  });

  it('sends a new Idempotency-Key with every write and none with reads', async () => {
    const from = sent.length;
    const customer = await client.createCustomer({ body: { name: 'Keys' } });
    await client.updateCustomer({ params: { id: customer.id }, body: { name: 'Keys 2' } });
    await client.getCustomer({ params: { id: customer.id } });
    const [create, update, get] = sent.slice(from);
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    expect(create?.headers.get('idempotency-key')).toMatch(uuid);
    expect(update?.headers.get('idempotency-key')).toMatch(uuid);
    expect(update?.headers.get('idempotency-key')).not.toBe(create?.headers.get('idempotency-key'));
    expect(get?.method).toBe('GET');
    expect(get?.headers.has('idempotency-key')).toBe(false);
  });

  it('replays a write sent again with its key, and refuses the key for another body', async () => {
    const idempotencyKey = randomUUID();
    const first = await client.createCustomer({ body: { email: 'once@sdk.test' }, idempotencyKey });
    const replay = await client.createCustomer({ body: { email: 'once@sdk.test' }, idempotencyKey });
    expect(replay.id).toBe(first.id);
    expect(sent.at(-1)?.headers.get('idempotency-key')).toBe(idempotencyKey);
    await expect(client.createCustomer({ body: { email: 'twice@sdk.test' }, idempotencyKey })).rejects.toMatchObject({
      status: 422,
      type: 'idempotency_error',
      param: 'Idempotency-Key',
    });
  });

  it('calls each operation at the method and path the OpenAPI document gives it', async () => {
    const { body: doc } = await api.request('GET', '/openapi.json');
    for (const [operationId, operation] of Object.entries(OPERATIONS)) {
      expect(doc.paths[operation.path]?.[operation.method]?.operationId, operationId).toBe(operationId);
    }
    const from = sent.length;
    const { data: customer } = await client.upsertCustomer({ params: { source: 'sdk', external_id: randomUUID() }, body: {} });
    await client.getCustomerDeletion({ params: { id: customer.id } }).catch(() => undefined);
    const [call] = sent.slice(from + 1);
    expect(call).toMatchObject({ method: 'GET', status: 404 });
    expect(call!.url.pathname).toBe(`/v1/customers/${customer.id}/deletion`);
  });
});
