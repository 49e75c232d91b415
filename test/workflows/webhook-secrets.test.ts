import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretBox } from '../../src/config.js';
import { claimIdempotencyKey } from '../../src/http/idempotency.js';
import type { WriteContext } from '../../src/lib/scope.js';
import type { WebhookEndpointObject } from '../../src/webhooks/webhook.schemas.js';
import { SecretBox } from '../../src/lib/secret-box.js';
import { createLogger } from '../../src/logger.js';
import { newId } from '../../src/lib/ids.js';
import { WebhookService } from '../../src/webhooks/webhook.service.js';
import { WebhookStore } from '../../src/webhooks/webhook.store.js';
import { TemporalGateway } from '../../src/temporal/gateway.js';
import { freshDatabase } from '../support/database.js';
import { eventually, startTestApi, type TestApi } from '../support/harness.js';
import { startReceiver } from '../support/receiver.js';

describe('webhook signing secrets: encrypted at rest, rotated with an overlap', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.stop());

  const verifies = (secret: string, request: { body: string; headers: Record<string, unknown> }) => {
    try {
      new Webhook(secret).verify(request.body, request.headers as Record<string, string>);
      return true;
    } catch {
      return false;
    }
  };

  it('stores the secret encrypted, never in clear', async () => {
    const { sandboxKey: key } = await api.merchant('Encrypted');
    const { body: endpoint } = await api.request('POST', '/v1/webhook_endpoints', { key, body: { url: 'https://hooks.example.test/x' } });
    const row = await api.runtime.db.webhookEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } });
    expect(row.secret).toMatch(/^enc:v1:dev:/);
    expect(row.secret).not.toContain(endpoint.secret.slice('whsec_'.length, 20));
    expect(secretBox(api.config).decrypt(row.secret)).toBe(endpoint.secret);
  });

  it('signs with both secrets during the overlap, then with the new one only', async () => {
    const { sandboxKey: key } = await api.merchant('Rotation');
    const receiver = await startReceiver([200]);
    const { body: endpoint } = await api.request('POST', '/v1/webhook_endpoints', { key, body: { url: receiver.url } });
    const rotated = await api.request('POST', `/v1/webhook_endpoints/${endpoint.id}/rotate_secret`, { key, body: { overlap_hours: 1 } });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(endpoint.secret);
    expect(Date.parse(rotated.body.previous_secret_expires)).toBeGreaterThan(Date.now() + 3_000_000);
    expect((await api.request('GET', `/v1/webhook_endpoints/${endpoint.id}`, { key })).body.secret).toBeUndefined();

    await api.request('POST', '/v1/customers', { key, body: { name: 'during overlap' } });
    await eventually(async () => (receiver.received.length === 1 ? true : undefined));
    const duringOverlap = receiver.received[0]!;
    expect(String(duringOverlap.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifies(endpoint.secret, duringOverlap)).toBe(true);
    expect(verifies(rotated.body.secret, duringOverlap)).toBe(true);

    const again = await api.request('POST', `/v1/webhook_endpoints/${endpoint.id}/rotate_secret`, { key, body: { overlap_hours: 0 } });
    expect(again.body.previous_secret_expires).toBeNull();
    await api.request('POST', '/v1/customers', { key, body: { name: 'after' } });
    await eventually(async () => (receiver.received.length === 2 ? true : undefined));
    const after = receiver.received[1]!;
    expect(verifies(again.body.secret, after)).toBe(true);
    expect(verifies(rotated.body.secret, after)).toBe(false);
    expect(verifies(endpoint.secret, after)).toBe(false);
    await receiver.stop();
  });

  it('a keyed create or rotation stores its reply encrypted: no secret in clear at rest, the replay returns the same secret', async () => {
    const { sandboxKey: key, merchantId } = await api.merchant('Keyed secrets');
    const keyed = (path: string, body: unknown, idempotencyKey: string) =>
      api.request('POST', path, { key, body, headers: { 'idempotency-key': idempotencyKey } });
    const created = await keyed('/v1/webhook_endpoints', { url: 'https://hooks.example.test/keyed' }, 'k-create');
    const rotated = await keyed(`/v1/webhook_endpoints/${created.body.id}/rotate_secret`, { overlap_hours: 1 }, 'k-rotate');
    const rows = await api.runtime.db.idempotencyRecord.findMany({ where: { merchantId }, orderBy: { createdAt: 'asc' } });
    expect(rows.map((row) => [row.key, row.status, row.responseBody])).toEqual([
      ['k-create', 'completed', null],
      ['k-rotate', 'completed', null],
    ]);
    for (const [row, secret] of [[rows[0]!, created.body.secret], [rows[1]!, rotated.body.secret]] as const) {
      expect(secret).toMatch(/^whsec_/);
      expect(JSON.stringify(row)).not.toContain(secret.slice('whsec_'.length));
      expect(row.responseEncrypted).toMatch(/^enc:v1:dev:/);
    }

    const createdAgain = await keyed('/v1/webhook_endpoints', { url: 'https://hooks.example.test/keyed' }, 'k-create');
    const rotatedAgain = await keyed(`/v1/webhook_endpoints/${created.body.id}/rotate_secret`, { overlap_hours: 1 }, 'k-rotate');
    expect([createdAgain.headers.get('idempotent-replayed'), rotatedAgain.headers.get('idempotent-replayed')]).toEqual(['true', 'true']);
    expect(createdAgain.body).toEqual(created.body);
    expect(rotatedAgain.body).toEqual(rotated.body);
    // Rotated once: the secret the overlap keeps is still the first one.
    const endpoint = await api.runtime.db.webhookEndpoint.findUniqueOrThrow({ where: { id: created.body.id } });
    expect([secretBox(api.config).decrypt(endpoint.secret), secretBox(api.config).decrypt(endpoint.previousSecret!)]).toEqual([rotated.body.secret, created.body.secret]);
    expect(await api.runtime.db.webhookEndpoint.count({ where: { merchantId } })).toBe(1);
  });

  it('the create and rotate replies commit with their change: a crash between the commit and the answer cannot create or rotate twice', async () => {
    const { sandboxKey: key, merchantId } = await api.merchant('Crash after commit');
    const scope = { merchantId, environment: 'sandbox' as const };
    const options = { leaseMs: 30_000, secrets: secretBox(api.config) };
    /** The write as its route runs it (the key claimed, the reply protected and committed with the change); then the process dies. */
    const crashAfterCommit = async (
      path: string,
      body: unknown,
      status: number,
      write: (context: WriteContext<WebhookEndpointObject>) => Promise<WebhookEndpointObject>,
    ) => {
      const claim = await claimIdempotencyKey(api.runtime.db, scope, { key: `k-${path}`, method: 'POST', path, body }, options);
      if (claim.kind !== 'owner') throw new Error('expected to own the key');
      claim.protectReply();
      const result = await write({ ...scope, commitReply: (tx, value) => claim.commitReply(tx, { status, body: value }) });
      await api.runtime.db.idempotencyRecord.update({ where: { id: claim.id }, data: { lockedUntil: new Date(Date.now() - 1) } });
      const retry = await api.request('POST', path, { key, body, headers: { 'idempotency-key': `k-${path}` } });
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      expect(retry.status).toBe(status);
      return { result, retry: retry.body };
    };
    const create = { url: 'https://hooks.example.test/crash', enabled_events: ['*' as const] };
    const created = await crashAfterCommit('/v1/webhook_endpoints', create, 201, (write) => api.runtime.services.webhooks.createEndpoint(write, create));
    expect(created.retry).toEqual(created.result);
    expect(await api.runtime.db.webhookEndpoint.count({ where: { merchantId } })).toBe(1);

    const id = created.result.id;
    const rotated = await crashAfterCommit(`/v1/webhook_endpoints/${id}/rotate_secret`, { overlap_hours: 24 }, 200, (write) =>
      api.runtime.services.webhooks.rotateSecret(write, id, 24),
    );
    expect(rotated.retry).toEqual(rotated.result);
    const endpoint = await api.runtime.db.webhookEndpoint.findUniqueOrThrow({ where: { id } });
    expect(secretBox(api.config).decrypt(endpoint.secret)).toBe(rotated.result.secret);
    expect(secretBox(api.config).decrypt(endpoint.previousSecret!)).toBe(created.result.secret);
  });

  it('re-encrypts stored secrets when a new encryption key is put first', async () => {
    // A database of its own: the suite's worker, which knows only the old key, must not see these rows.
    const database = await freshDatabase();
    const merchant = await database.db.merchant.create({ data: { id: newId('merchant'), name: 'Key rotation' } });
    const scope = { merchantId: merchant.id, environment: 'sandbox' as const };
    const service = (secrets: SecretBox) =>
      new WebhookService({
        db: database.db,
        store: new WebhookStore(database.db),
        temporal: new TemporalGateway(api.runtime.temporal, 'unused', createLogger('silent', 'secrets-test')),
        allowPrivateTargets: true,
        secrets,
        logger: createLogger('silent', 'secrets-test'),
      });
    const old = secretBox(api.config);
    const endpoint = await service(old).createEndpoint(scope, { url: 'https://hooks.example.test/y', enabled_events: ['*'] });
    await service(old).rotateSecret(scope, endpoint.id, 1);
    const before = await database.db.webhookEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } });
    const both = SecretBox.parse(`k2026:${randomBytes(32).toString('base64')},${old.currentKeyId}:${Buffer.alloc(32, 'development only, not secret').toString('base64')}`);
    expect(await service(both).reencryptSecrets()).toBe(1);
    const row = await database.db.webhookEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } });
    expect(row.secret).toMatch(/^enc:v1:k2026:/);
    expect(row.previousSecret).toMatch(/^enc:v1:k2026:/);
    expect(both.decrypt(row.secret)).toBe(old.decrypt(before.secret));
    expect(both.decrypt(row.previousSecret!)).toBe(endpoint.secret);
    // The old key alone can no longer read them: it may now be dropped from SECRETS_ENCRYPTION_KEYS.
    expect(() => old.decrypt(row.secret)).toThrow(/k2026/);
    expect(await service(both).reencryptSecrets()).toBe(0);
    await database.drop();
  });
});
