import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/harness.js';

describe('API keys and tenant isolation', () => {
  let api: TestApi;
  let acme: Awaited<ReturnType<TestApi['merchant']>>;
  let globex: Awaited<ReturnType<TestApi['merchant']>>;
  let acmeCustomerId: string;

  beforeAll(async () => {
    api = await startTestApi();
    acme = await api.merchant('Acme');
    globex = await api.merchant('Globex');
    const created = await api.request('POST', '/v1/customers', { key: acme.sandboxKey, body: { email: 'iso@acme.test' } });
    acmeCustomerId = created.body.id;
  });
  afterAll(() => api.stop());

  it('refuses a request without a key', async () => {
    const response = await api.request('GET', '/v1/customers');
    expect(response.status).toBe(401);
    expect(response.body.error.type).toBe('unauthenticated');
  });

  it('refuses a malformed or unknown key', async () => {
    for (const key of ['nope', `sk_sandbox_${'x'.repeat(32)}`]) {
      const response = await api.request('GET', '/v1/customers', { key });
      expect(response.status).toBe(401);
      expect(response.body.error.message).toBe('Invalid API key');
    }
  });

  it('accepts the key as a Bearer token too', async () => {
    const response = await api.request('GET', `/v1/customers/${acmeCustomerId}`, {
      headers: { authorization: `Bearer ${acme.sandboxKey}` },
    });
    expect(response.status).toBe(200);
    expect(response.body.email).toBe('iso@acme.test');
  });

  it("answers 404, not 403, for another merchant's customer", async () => {
    const read = await api.request('GET', `/v1/customers/${acmeCustomerId}`, { key: globex.sandboxKey });
    expect(read.status).toBe(404);
    expect(read.body.error).toMatchObject({ type: 'not_found', param: 'id' });
    const write = await api.request('PATCH', `/v1/customers/${acmeCustomerId}`, { key: globex.sandboxKey, body: { name: 'x' } });
    expect(write.status).toBe(404);
    const remove = await api.request('DELETE', `/v1/customers/${acmeCustomerId}`, { key: globex.sandboxKey });
    expect(remove.status).toBe(404);
    const list = await api.request('GET', '/v1/customers', { key: globex.sandboxKey });
    expect(list.body.data.map((c: { id: string }) => c.id)).not.toContain(acmeCustomerId);
  });

  it('keeps sandbox and live apart for the same merchant', async () => {
    const live = await api.request('GET', `/v1/customers/${acmeCustomerId}`, { key: acme.liveKey });
    expect(live.status).toBe(404);
    const created = await api.request('POST', '/v1/customers', { key: acme.liveKey, body: { email: 'iso@acme.test' } });
    expect(created.status).toBe(201);
    expect(created.body.environment).toBe('live');
    const sandboxList = await api.request('GET', '/v1/customers?email=iso@acme.test', { key: acme.sandboxKey });
    expect(sandboxList.body.data.map((c: { id: string }) => c.id)).toEqual([acmeCustomerId]);
  });

  it('stops accepting a key once it is revoked', async () => {
    const issued = await api.runtime.services.merchants.issueKey(acme.merchantId, 'sandbox');
    expect((await api.request('GET', '/v1/customers', { key: issued.key })).status).toBe(200);
    await api.runtime.services.merchants.revokeKey(issued.id);
    const response = await api.request('GET', '/v1/customers', { key: issued.key });
    expect(response.status).toBe(401);
    expect(response.body.error.message).toMatch(/revoked/);
  });

  it('a key revoked by another process stops working within API_KEY_CACHE_MS', async () => {
    const other = await startTestApi({ API_KEY_CACHE_MS: '3000' });
    try {
      const issued = await api.runtime.services.merchants.issueKey(acme.merchantId, 'sandbox');
      expect((await other.request('GET', '/v1/customers', { key: issued.key })).status).toBe(200);
      await api.runtime.services.merchants.revokeKey(issued.id);
      // The other process still trusts its lookup, for at most three seconds.
      expect((await other.request('GET', '/v1/customers', { key: issued.key })).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const refused = await other.request('GET', '/v1/customers', { key: issued.key });
      expect(refused.status).toBe(401);
      expect(refused.body.error.message).toMatch(/revoked/);
    } finally {
      await other.stop();
    }
  });

  it('stores only a hash of each key', async () => {
    const rows = await api.runtime.db.apiKey.findMany({ where: { merchantId: acme.merchantId } });
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.keyHash).toMatch(/^[0-9a-f]{64}$/);
      expect([acme.sandboxKey, acme.liveKey]).not.toContain(row.keyHash);
      expect(row.prefix).toMatch(/^sk_(sandbox|live)_/);
    }
  });
});
