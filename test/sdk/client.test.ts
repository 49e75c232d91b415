import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiRequestError, createClient, DEFAULT_SOURCE, OPERATIONS, type Client } from '../../src/sdk/client';
import { startTestApi, type TestApi } from '../support/harness';

interface Sent {
  method: string;
  url: URL;
  headers: Headers;
  status: number;
}

describe('SDK client against the running API', () => {
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

  it('identify creates the customer, then updates the same one', async () => {
    // A slash and a space: the SDK must keep the external id one path segment.
    const externalId = `user/${randomUUID()} a`;
    const first = await client.customers.identify({
      external_id: externalId,
      email: 'ada@sdk.test',
      name: 'Ada',
      metadata: { plan: 'free' },
    });
    expect(first.created).toBe(true);
    expect(sent.at(-1)?.status).toBe(201);
    expect(first.data).toMatchObject({ external_id: externalId, external_source: DEFAULT_SOURCE, email: 'ada@sdk.test' });

    const second = await client.customers.identify({ external_id: externalId, name: 'Ada Lovelace' });
    expect(second.created).toBe(false);
    expect(sent.at(-1)?.status).toBe(200);
    expect(second.data).toMatchObject({ id: first.data.id, name: 'Ada Lovelace', email: 'ada@sdk.test' });
    expect(second.warnings).toEqual([]);
  });

  it('identify takes the source from the call', async () => {
    const result = await client.customers.identify({ external_id: randomUUID(), source: 'shopify', name: 'Grace' });
    expect(result.data.external_source).toBe('shopify');
  });

  it('gets a customer, with stats when expanded', async () => {
    const customer = await client.customers.create({ email: 'get@sdk.test', name: 'Get' });
    expect(await client.customers.get(customer.id)).toEqual(customer);
    const expanded = await client.customers.get(customer.id, { expand: ['stats'] });
    expect(expanded.stats).toMatchObject({ payment_count: 0, invoice_count: 0, total_spent: {} });
  });

  it('lists by tag with the total and has_more', async () => {
    const tag = `cohort-${randomUUID().slice(0, 8)}`;
    // A second of slack: the timestamps come from the database's clock.
    const before = new Date(Date.now() - 1000);
    const ids: string[] = [];
    for (const n of [1, 2, 3]) ids.push((await client.customers.create({ name: `Tagged ${n}`, tags: [tag] })).id);
    await client.customers.create({ name: 'Untagged' });

    const firstPage = await client.customers.list({ tag, limit: 2 });
    expect(firstPage).toMatchObject({ object: 'list', total: 3, has_more: true });
    expect(firstPage.data.map((c) => c.id)).toEqual([ids[2], ids[1]]);
    const secondPage = await client.customers.list({ tag, limit: 2, offset: 2 });
    expect(secondPage).toMatchObject({ total: 3, has_more: false });
    expect(secondPage.data.map((c) => c.id)).toEqual([ids[0]]);

    expect((await client.customers.list({ tag, 'created[gte]': before })).total).toBe(3);
    expect((await client.customers.list({ tag, 'created[gte]': new Date(Date.now() + 60_000) })).total).toBe(0);
  });

  it('update merges metadata key by key', async () => {
    const customer = await client.customers.create({ metadata: { plan: 'pro', seats: 5, trial: true } });
    const updated = await client.customers.update(customer.id, { metadata: { seats: 7, trial: null, region: 'eu' } });
    expect(updated.metadata).toEqual({ plan: 'pro', seats: 7, region: 'eu' });
  });

  it('adds and removes tags', async () => {
    const customer = await client.customers.create({ tags: ['a'] });
    expect((await client.customers.addTags(customer.id, ['b', 'c'])).tags).toEqual(['a', 'b', 'c']);
    expect((await client.customers.removeTag(customer.id, 'b')).tags).toEqual(['a', 'c']);
  });

  it('delete answers 202 with the deletion workflow', async () => {
    const customer = await client.customers.create({ email: 'leaving@sdk.test' });
    const deletion = await client.customers.delete(customer.id);
    expect(sent.at(-1)?.status).toBe(202);
    expect(deletion).toMatchObject({
      object: 'customer_deletion',
      customer_id: customer.id,
      status: 'running',
      workflow_id: `customer-deletion:${customer.id}`,
      status_url: `/v1/customers/${customer.id}/deletion`,
    });
    expect(deletion.run_id).toEqual(expect.any(String));
  });

  it('raises ApiRequestError with the invalid field', async () => {
    const failure = await client.customers.create({ email: 'not-an-email' }).catch((error: unknown) => error);
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
    await expect(behindProxy.customers.list()).rejects.toMatchObject({
      status: 502,
      type: 'unexpected_response',
      requestId: 'req_proxy',
      message: expect.stringContaining('Bad gateway'),
    });
  });

  it('raises not_found for an unknown customer', async () => {
    await expect(client.customers.get('cus_unknown')).rejects.toMatchObject({ status: 404, type: 'not_found', param: 'id' });
  });

  it('sends a new Idempotency-Key with every write and none with reads', async () => {
    const from = sent.length;
    const customer = await client.customers.create({ name: 'Keys' });
    await client.customers.update(customer.id, { name: 'Keys 2' });
    await client.customers.get(customer.id);
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
    const first = await client.customers.create({ email: 'once@sdk.test' }, { idempotencyKey });
    const replay = await client.customers.create({ email: 'once@sdk.test' }, { idempotencyKey });
    expect(replay.id).toBe(first.id);
    expect(sent.at(-1)?.headers.get('idempotency-key')).toBe(idempotencyKey);

    await expect(client.customers.create({ email: 'twice@sdk.test' }, { idempotencyKey })).rejects.toMatchObject({
      status: 422,
      type: 'idempotency_error',
      param: 'Idempotency-Key',
    });
  });

  it('maps each method to its own operation of the OpenAPI document', async () => {
    const { body: doc } = await api.request('GET', '/openapi.json');
    const operations = Object.entries(OPERATIONS);
    for (const [name, { method, path }] of operations) {
      expect(doc.paths[path]?.[method.toLowerCase()], `${name}: ${method} ${path}`).toBeDefined();
    }

    const from = sent.length;
    const { data: customer } = await client.customers.identify({ external_id: randomUUID() });
    await client.customers.create();
    await client.customers.get(customer.id);
    await client.customers.list({ limit: 1 });
    await client.customers.update(customer.id, { name: 'Every method' });
    await client.customers.addTags(customer.id, ['x']);
    await client.customers.removeTag(customer.id, 'x');
    await client.customers.delete(customer.id);
    const matching = (method: string, pathname: string) =>
      operations.find(
        ([, operation]) =>
          operation.method === method && new RegExp(`^${operation.path.replace(/\{\w+\}/g, '[^/]+')}$`).test(pathname),
      )?.[0];
    const called = sent.slice(from).map(({ method, url }) => matching(method, url.pathname));
    expect(called.sort()).toEqual(Object.keys(OPERATIONS).sort());
    expect(Object.keys(client.customers).sort()).toEqual(Object.keys(OPERATIONS).sort());
  });
});
