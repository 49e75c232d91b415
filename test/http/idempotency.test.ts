import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/lib/ids.js';
import { startTestApi, type TestApi } from '../support/harness.js';

describe('Idempotency-Key', () => {
  let api: TestApi;
  let key: string;
  let merchantId: string;

  beforeAll(async () => {
    api = await startTestApi();
    ({ sandboxKey: key, merchantId } = await api.merchant('Idempotent'));
  });
  afterAll(() => api.stop());

  const create = (idempotencyKey: string, body: unknown, apiKey = key) =>
    api.request('POST', '/v1/customers', { key: apiKey, body, headers: { 'idempotency-key': idempotencyKey } });

  it('replays the stored status and body for the same key and body, and says so', async () => {
    const first = await create('k-replay', { email: 'once@example.com', metadata: { a: 1, b: 2 } });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBe('false');
    // The same body with its keys in another order is the same request.
    const second = await create('k-replay', { metadata: { b: 2, a: 1 }, email: 'once@example.com' });
    expect(second.status).toBe(201);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.body).toEqual(first.body);
    expect(await api.runtime.db.customer.count({ where: { merchantId, email: 'once@example.com' } })).toBe(1);
  });

  it('refuses the same key with a different body', async () => {
    await create('k-mismatch', { name: 'A' });
    const response = await create('k-mismatch', { name: 'B' });
    expect(response.status).toBe(422);
    expect(response.body.error).toMatchObject({ type: 'idempotency_error', param: 'Idempotency-Key' });
  });

  it('replays errors too, so a retried bad request stays the same answer', async () => {
    const first = await create('k-error', { email: 'bad' });
    const second = await create('k-error', { email: 'bad' });
    expect(first.status).toBe(400);
    expect(second.status).toBe(400);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
  });

  it('runs concurrent requests with one key once', async () => {
    const responses = await Promise.all(Array.from({ length: 6 }, () => create('k-concurrent', { email: 'race@example.com' })));
    expect(responses.map((r) => r.status)).toEqual(Array(6).fill(201));
    expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
    expect(responses.filter((r) => r.headers.get('idempotent-replayed') === 'false')).toHaveLength(1);
    expect(await api.runtime.db.customer.count({ where: { merchantId, email: 'race@example.com' } })).toBe(1);
  });

  it('scopes keys to the merchant: another merchant may use the same key', async () => {
    const other = await api.merchant('Other');
    await create('k-shared', { name: 'mine' });
    const response = await create('k-shared', { name: 'theirs' }, other.sandboxKey);
    expect(response.status).toBe(201);
    expect(response.body.name).toBe('theirs');
  });

  it('forgets a key after 24 hours', async () => {
    const first = await create('k-expiring', { name: 'first' });
    await api.runtime.db.idempotencyRecord.updateMany({ where: { merchantId, key: 'k-expiring' }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const later = await create('k-expiring', { name: 'second' });
    expect(later.status).toBe(201);
    expect(later.body.id).not.toBe(first.body.id);
    expect(later.headers.get('idempotent-replayed')).toBe('false');
  });

  it('frees a key whose request died in progress (a crashed process), after a minute', async () => {
    const { key: stuck } = await api.runtime.db.idempotencyRecord.create({
      data: {
        id: newId('idempotency'),
        merchantId,
        environment: 'sandbox',
        key: 'k-abandoned',
        method: 'POST',
        path: '/v1/customers',
        requestHash: 'whatever',
        createdAt: new Date(Date.now() - 120_000),
        expiresAt: new Date(Date.now() + 60_000),
      },
    });
    const response = await create(stuck, { name: 'after the crash' });
    expect(response.status).toBe(201);
    expect(response.headers.get('idempotent-replayed')).toBe('false');
  });

  it('applies to PATCH, PUT and DELETE as well', async () => {
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: { metadata: { n: 1 } } });
    const patch = () =>
      api.request('PATCH', `/v1/customers/${customer.id}`, { key, body: { tags: ['x'] }, headers: { 'idempotency-key': 'k-patch' } });
    const [a, b] = [await patch(), await patch()];
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    expect(b.body).toEqual(a.body);
    const remove = () => api.request('DELETE', `/v1/customers/${customer.id}`, { key, headers: { 'idempotency-key': 'k-delete' } });
    const [d1, d2] = [await remove(), await remove()];
    expect(d1.status).toBe(202);
    expect(d2.headers.get('idempotent-replayed')).toBe('true');
    expect(d2.body).toEqual(d1.body);
  });

  it('rejects an over-long key', async () => {
    const response = await create('k'.repeat(256), {});
    expect(response.status).toBe(400);
    expect(response.body.error.param).toBe('Idempotency-Key');
  });
});
