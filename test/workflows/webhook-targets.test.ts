import type { lookup } from 'node:dns';
import { isIP } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/lib/ids.js';
import { secretBox } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { WebhookSteps, type WebhookStepsDeps } from '../../src/webhooks/webhook.steps.js';
import { WebhookStore } from '../../src/webhooks/webhook.store.js';
import { generateWebhookSecret } from '../../src/webhooks/signature.js';
import { guardedLookup } from '../../src/webhooks/target.js';
import { postWebhook } from '../../src/webhooks/transport.js';
import { startTestApi, type TestApi } from '../support/harness.js';
import { startReceiver } from '../support/receiver.js';

describe('webhook targets on private networks are refused unless allowed', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'false' });
  });
  afterAll(() => api.stop());

  // Which addresses count as private: test/webhooks/target.test.ts.

  it('refuses a private or local URL when the endpoint is created', async () => {
    const { sandboxKey: key } = await api.merchant('Strict');
    for (const url of ['http://127.0.0.1:9000/hook', 'https://localhost/hook', 'http://[::1]/hook', 'http://169.254.169.254/latest']) {
      const response = await api.request('POST', '/v1/webhook_endpoints', { key, body: { url } });
      expect(response.status, url).toBe(400);
      expect(response.body.error.param).toBe('url');
    }
    const publicUrl = await api.request('POST', '/v1/webhook_endpoints', { key, body: { url: 'https://93.184.216.34/hook' } });
    expect(publicUrl.status).toBe(201);
  });

  // DNS for names is the one thing faked here: no public resolver is reachable from the test machine.
  const resolvingTo = (address: string) =>
    ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) =>
      options.all ? callback(null, [{ address, family: isIP(address) }]) : callback(null, address, isIP(address))) as unknown as typeof lookup;

  it('lets a name through the guard when it resolves to a public address', async () => {
    const answer = await new Promise<unknown[]>((resolve) =>
      guardedLookup(resolvingTo('93.184.216.34'))('hooks.example', { all: true }, (...args: unknown[]) => resolve(args)),
    );
    expect(answer).toEqual([null, [{ address: '93.184.216.34', family: 4 }], undefined]);
  });

  it('refuses at delivery a name that resolves inside the network, without calling it, and records why', async () => {
    const receiver = await startReceiver([200]);
    const { merchantId } = await api.merchant('Rebinding');
    const url = receiver.url.replace('127.0.0.1', 'rebound.example');
    // Written directly, as an endpoint whose name resolved publicly when it was registered.
    const endpoint = await api.runtime.db.webhookEndpoint.create({
      data: { id: newId('webhookEndpoint'), merchantId, environment: 'sandbox', url, enabledEvents: ['*'], secret: generateWebhookSecret() },
    });
    // Marked dispatched, with its delivery row written here, so the suite's own relay leaves it alone.
    const { id: eventId } = await api.runtime.db.event.create({
      data: { id: newId('event'), merchantId, environment: 'sandbox', type: 'customer.updated', data: { object: { id: 'x' } }, dispatchedAt: new Date() },
    });
    const { id: deliveryId } = await api.runtime.db.webhookDelivery.create({
      data: { id: newId('webhookDelivery'), endpointId: endpoint.id, eventId },
    });
    const service = (allowPrivateTargets: boolean, post: WebhookStepsDeps['post']) =>
      new WebhookSteps({
        store: new WebhookStore(api.runtime.db),
        timeoutMs: 1000,
        retrySchedule: [200],
        secrets: secretBox(api.config),
        logger: createLogger('silent', 'targets-test'),
        allowPrivateTargets,
        post,
      });
    const strict = service(false, (target, headers, body, options) =>
      postWebhook(target, headers, body, { ...options, lookup: guardedLookup(resolvingTo('127.0.0.1')) }),
    );
    await strict.deliverDue(endpoint.id);
    expect(receiver.received).toHaveLength(0);
    const delivery = await api.runtime.db.webhookDelivery.findUniqueOrThrow({ where: { id: deliveryId } });
    // A refused target stays refused: no retry is scheduled.
    expect(delivery).toMatchObject({ endpointId: endpoint.id, status: 'failed', attempts: 1, lastStatusCode: null });
    expect(delivery.lastError).toBe('refused: rebound.example resolves to 127.0.0.1, not a public address (loopback)');

    // The same endpoint with private targets allowed (local development) is delivered.
    await api.runtime.db.webhookDelivery.update({ where: { id: deliveryId }, data: { status: 'pending' } });
    const lenient = service(true, (target, headers, body, options) =>
      postWebhook(target.replace('rebound.example', '127.0.0.1'), headers, body, options),
    );
    await lenient.deliverDue(endpoint.id);
    expect(receiver.received).toHaveLength(1);
    expect(await api.runtime.db.webhookDelivery.findUniqueOrThrow({ where: { id: deliveryId } })).toMatchObject({ status: 'succeeded', attempts: 2 });
    await receiver.stop();
  });
});
