import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretBox } from '../../src/config.js';
import { SecretBox } from '../../src/lib/secret-box.js';
import { createLogger } from '../../src/logger.js';
import { newId } from '../../src/lib/ids.js';
import { WebhookService } from '../../src/webhooks/webhook.service.js';
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

  it('re-encrypts stored secrets when a new encryption key is put first', async () => {
    // A database of its own: the suite's worker, which knows only the old key, must not see these rows.
    const database = await freshDatabase();
    const merchant = await database.db.merchant.create({ data: { id: newId('merchant'), name: 'Key rotation' } });
    const scope = { merchantId: merchant.id, environment: 'sandbox' as const };
    const service = (secrets: SecretBox) =>
      new WebhookService({
        db: database.db,
        temporal: api.runtime.temporal,
        taskQueue: 'unused',
        timeoutMs: 1000,
        allowPrivateTargets: true,
        retrySchedule: [],
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
