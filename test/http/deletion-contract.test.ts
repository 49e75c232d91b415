import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestApi, type TestApi } from '../support/harness.js';

describe('DELETE /v1/customers/:id: the answer and its races', () => {
  let api: TestApi;
  let key: string;
  let merchantId: string;

  beforeAll(async () => {
    api = await startTestApi({ TEMPORAL_UI_URL: 'http://temporal.example.test:8233/' });
    ({ sandboxKey: key, merchantId } = await api.merchant('Deletion contract'));
  });
  afterAll(() => api.stop());

  it('answers with a link to its run in the Temporal Web UI, and the deletion object carries it too', async () => {
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: {} });
    const accepted = await api.request('DELETE', `/v1/customers/${customer.id}`, { key });
    expect(accepted.status).toBe(202);
    const workflowId = encodeURIComponent(`customer-deletion:${customer.id}`);
    expect(accepted.body.temporal_ui_url).toBe(
      `http://temporal.example.test:8233/namespaces/default/workflows/${workflowId}/${accepted.body.run_id}/history`,
    );
    const status = await api.request('GET', `/v1/customers/${customer.id}/deletion`, { key });
    expect(status.body.temporal_ui_url).toBe(accepted.body.temporal_ui_url);
  });

  it('defaults the link to the dev server UI outside production, and leaves it out in production when unset', async () => {
    const dev = await startTestApi({ NODE_ENV: 'development' });
    const production = await startTestApi({
      NODE_ENV: 'production',
      SECRETS_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
      PUBLIC_BASE_URL: 'https://customers.example.test',
    });
    try {
      for (const [instance, expected] of [
        [dev, expect.stringMatching(/^http:\/\/localhost:8233\/namespaces\/default\/workflows\//)],
        [production, undefined],
      ] as const) {
        const { body: customer } = await instance.request('POST', '/v1/customers', { key, body: {} });
        const accepted = await instance.request('DELETE', `/v1/customers/${customer.id}`, { key });
        expect(accepted.body.temporal_ui_url).toEqual(expected);
      }
    } finally {
      await dev.stop();
      await production.stop();
    }
  });

  it('concurrent duplicate DELETEs return the same deletion and run', async () => {
    for (let round = 0; round < 5; round++) {
      const { body: customer } = await api.request('POST', '/v1/customers', { key, body: {} });
      const answers = await Promise.all(Array.from({ length: 6 }, () => api.request('DELETE', `/v1/customers/${customer.id}`, { key })));
      expect(answers.map((a) => a.status)).toEqual(Array(6).fill(202));
      expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
      expect(new Set(answers.map((a) => a.body.run_id)).size).toBe(1);
      expect(answers[0]!.body.run_id).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('an upsert racing a DELETE never updates a deleting customer, nor emits customer.updated after customer.deleted', async () => {
    const outcomes = new Set<number>();
    for (let round = 0; round < 8; round++) {
      const externalId = `race-${round}`;
      const created = await api.request('PUT', `/v1/customers/external/crm/${externalId}`, { key, body: { name: 'before' } });
      const id = created.body.data.id as string;
      const [deletion, upsert] = await Promise.all([
        api.request('DELETE', `/v1/customers/${id}`, { key }),
        api.request('PUT', `/v1/customers/external/crm/${externalId}`, { key, body: { name: 'racing' } }),
      ]);
      expect(deletion.status).toBe(202);
      // Either the upsert committed first (then the deletion took it), or it saw the deletion.
      expect([200, 409]).toContain(upsert.status);
      if (upsert.status === 200) expect(upsert.body.data.id).toBe(id);
      outcomes.add(upsert.status);
      await eventually(async () => {
        const status = await api.request('GET', `/v1/customers/${id}/deletion`, { key });
        return status.body.status === 'completed' ? true : undefined;
      });
      const events = await api.runtime.db.event.findMany({ where: { merchantId, customerId: id }, orderBy: { id: 'asc' } });
      const types = events.map((event) => event.type);
      expect(types.at(-1), types.join(',')).toBe('customer.deleted');
      expect(types.filter((type) => type === 'customer.deleted')).toHaveLength(1);
    }
    expect(outcomes.size).toBeGreaterThan(0);
  });
});
