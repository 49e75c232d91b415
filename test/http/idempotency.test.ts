import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { secretBox } from '../../src/config.js';
import { claimIdempotencyKey } from '../../src/http/idempotency.js';
import { newId } from '../../src/lib/ids.js';
import { eventually, startTestApi, type TestApi } from '../support/harness.js';

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

  it('50 concurrent requests with one key: one effect, 49 replays', async () => {
    // A merchant of its own: its API key's rate-limit bucket is full.
    const fresh = await api.merchant('Fifty');
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => create('k-fifty', { email: 'fifty@example.com', tags: ['x'] }, fresh.sandboxKey)),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(201));
    expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
    expect(responses.filter((r) => r.headers.get('idempotent-replayed') === 'false')).toHaveLength(1);
    expect(await api.runtime.db.customer.count({ where: { merchantId: fresh.merchantId, email: 'fifty@example.com' } })).toBe(1);
    expect(await api.runtime.db.event.count({ where: { merchantId: fresh.merchantId, customerId: responses[0]!.body.id } })).toBe(2);
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

  it('frees a key whose request died in progress (a crashed process) once its lease ran out', async () => {
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

  it('a request slower than its lease keeps its key: a retry waits and replays, the write runs once', async () => {
    const slow = await startTestApi({ IDEMPOTENCY_LEASE_MS: '600' });
    const locker = new pg.Client({ connectionString: slow.config.DATABASE_URL });
    await locker.connect();
    try {
      const { body: customer } = await slow.request('POST', '/v1/customers', { key, body: { name: 'slow' } });
      // Holding the row makes the PATCH wait inside its transaction, far longer than its lease.
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM customers WHERE id = $1 FOR UPDATE', [customer.id]);
      const patch = () =>
        slow.request('PATCH', `/v1/customers/${customer.id}`, { key, body: { metadata: { n: 1 } }, headers: { 'idempotency-key': 'k-slow' } });
      const first = patch();
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const retry = patch();
      await new Promise((resolve) => setTimeout(resolve, 500));
      await locker.query('COMMIT');
      const [a, b] = await Promise.all([first, retry]);
      expect([a.status, b.status]).toEqual([200, 200]);
      expect(a.headers.get('idempotent-replayed')).toBe('false');
      expect(b.headers.get('idempotent-replayed')).toBe('true');
      expect(b.body).toEqual(a.body);
      const updates = await slow.runtime.db.event.count({ where: { customerId: customer.id, type: 'customer.updated' } });
      expect(updates).toBe(1);
    } finally {
      await locker.end();
      await slow.stop();
    }
  });

  it('commits the stored reply with the write: a retry after a crash between the two replays it', async () => {
    const scope = { merchantId, environment: 'sandbox' as const };
    const body = { name: 'written, then the process died' };
    const request = { key: 'k-crash', method: 'POST', path: '/v1/customers', body };
    const claim = await claimIdempotencyKey(api.runtime.db, scope, request, { leaseMs: 30_000, secrets: secretBox(api.config) });
    if (claim.kind !== 'owner') throw new Error('expected to own the key');
    // The request's write, as the route runs it; then the process dies before answering.
    const created = await api.runtime.services.customers.create(
      { ...scope, commitReply: (tx, result) => claim.commitReply(tx, { status: 201, body: result }) },
      body,
    );
    await api.runtime.db.idempotencyRecord.update({ where: { id: claim.id }, data: { lockedUntil: new Date(Date.now() - 1) } });
    const retry = await create('k-crash', body);
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body.id).toBe(created.id);
    expect(await api.runtime.db.customer.count({ where: { merchantId, name: body.name } })).toBe(1);
  });

  it("a request whose lease was taken over while it stalled rolls back and answers the retry's reply: one refund", async () => {
    // One connection: while the request's transaction waits on a lock, nothing can renew its lease,
    // as when its pool is starved or its event loop stalls.
    const starved = await startTestApi({ IDEMPOTENCY_LEASE_MS: '300', DATABASE_POOL_SIZE: '1' });
    const locker = new pg.Client({ connectionString: starved.config.DATABASE_URL });
    await locker.connect();
    try {
      const { body: payment } = await api.request('POST', '/v1/payments', { key, body: { amount: 1000, currency: 'EUR', status: 'succeeded' } });
      const refund = (via: TestApi) =>
        via.request('POST', `/v1/payments/${payment.id}/refunds`, { key, body: { amount: 100 }, headers: { 'idempotency-key': 'k-fenced' } });
      const record = () => api.runtime.db.idempotencyRecord.findFirst({ where: { merchantId, key: 'k-fenced' } });
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM payments WHERE id = $1 FOR UPDATE', [payment.id]);
      const stalled = refund(starved);
      const lapsed = await eventually(async () => {
        const held = await record();
        return held?.lockedUntil && held.lockedUntil < new Date() ? held : undefined;
      }, 15_000, 'the stalled request to lose its lease');
      const retry = refund(api);
      await eventually(async () => ((await record())?.leaseToken !== lapsed.leaseToken ? true : undefined), 15_000, 'the retry to take the key over');
      await locker.query('COMMIT');
      const [loser, winner] = await Promise.all([stalled, retry]);
      expect([loser.status, winner.status]).toEqual([201, 201]);
      expect(winner.headers.get('idempotent-replayed')).toBe('false');
      expect(loser.headers.get('idempotent-replayed')).toBe('true');
      expect(loser.body).toEqual(winner.body);
      expect(await api.runtime.db.refund.count({ where: { paymentId: payment.id } })).toBe(1);
      expect((await api.runtime.db.payment.findUniqueOrThrow({ where: { id: payment.id } })).amountRefunded).toBe(100n);
      expect(await record()).toMatchObject({ status: 'completed', responseBody: winner.body });
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
      await starved.stop();
    }
  });

  it('a write whose lease was taken over before it committed rolls back: its commit is fenced by the lease', async () => {
    const scope = { merchantId, environment: 'sandbox' as const };
    const body = { amount: 500, currency: 'EUR', status: 'succeeded' as const, source: 'api' as const };
    const request = { key: 'k-fence-direct', method: 'POST', path: '/v1/payments', body };
    const options = { leaseMs: 30_000, secrets: secretBox(api.config) };
    const stalled = await claimIdempotencyKey(api.runtime.db, scope, request, options);
    if (stalled.kind !== 'owner') throw new Error('expected to own the key');
    await api.runtime.db.idempotencyRecord.update({ where: { id: stalled.id }, data: { lockedUntil: new Date(Date.now() - 1) } });
    const retry = await claimIdempotencyKey(api.runtime.db, scope, request, options);
    if (retry.kind !== 'owner') throw new Error('expected the retry to take the key over');
    const write = (claim: typeof stalled) =>
      api.runtime.services.payments.create({ ...scope, commitReply: (tx, result) => claim.commitReply(tx, { status: 201, body: result }) }, body);
    const won = await write(retry);
    await expect(write(stalled)).rejects.toThrow(/taken over by a retry/);
    expect(await api.runtime.db.payment.count({ where: { merchantId, amount: 500n } })).toBe(1);
    expect((await stalled.answerAsRetry()).body).toEqual(won);
  });

  it('rejects an over-long key', async () => {
    const response = await create('k'.repeat(256), {});
    expect(response.status).toBe(400);
    expect(response.body.error.param).toBe('Idempotency-Key');
  });
});
