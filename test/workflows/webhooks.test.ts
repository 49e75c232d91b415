import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIds } from '../../workflows/definitions';
import { recordEvent } from '../../src/events/event.service';
import { generateWebhookSecret, verifySignature } from '../../src/webhooks/signature';
import { eventually, startTestApi, type TestApi } from '../support/harness';
import { startReceiver } from '../support/receiver';

describe('webhooks: outbox events delivered by a Temporal workflow', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.stop());

  async function merchantWithEndpoint(answers: number[], enabledEvents?: string[]) {
    const merchant = await api.merchant('Webhooks');
    const receiver = await startReceiver(answers);
    const endpoint = await api.request('POST', '/v1/webhook_endpoints', {
      key: merchant.sandboxKey,
      body: { url: receiver.url, ...(enabledEvents && { enabled_events: enabledEvents }) },
    });
    expect(endpoint.status).toBe(201);
    expect(endpoint.body.secret).toMatch(/^whsec_/);
    return { ...merchant, receiver, endpoint: endpoint.body };
  }

  it('signs and delivers customer.created, customer.updated and customer.deleted', async () => {
    const { sandboxKey: key, receiver, endpoint } = await merchantWithEndpoint([200]);
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: { email: 'hook@example.com' } });
    await api.request('PATCH', `/v1/customers/${customer.id}`, { key, body: { name: 'Hooked' } });
    await api.request('DELETE', `/v1/customers/${customer.id}`, { key });

    await eventually(async () => (receiver.received.length >= 3 ? true : undefined), 20_000, 'three deliveries');
    const events = receiver.received.map((request) => ({ request, event: JSON.parse(request.body) }));
    expect(events.map((e) => e.event.type).sort()).toEqual(['customer.created', 'customer.deleted', 'customer.updated']);
    for (const { request, event } of events) {
      expect(event).toMatchObject({ object: 'event', environment: 'sandbox', data: { object: { id: customer.id } } });
      expect(request.headers['webhook-id']).toBe(event.id);
      expect(verifySignature(request.body, request.headers, endpoint.secret)).toBe(true);
      expect(verifySignature(request.body, request.headers, generateWebhookSecret())).toBe(false);
    }
    const updated = events.find((e) => e.event.type === 'customer.updated')!;
    expect(updated.event.data.object.name).toBe('Hooked');
    const deleted = events.find((e) => e.event.type === 'customer.deleted')!;
    expect(deleted.event.data.object).toMatchObject({ deleted: true, status: 'deleted' });

    const log = await eventually(async () => {
      const response = await api.request('GET', `/v1/webhook_endpoints/${endpoint.id}/deliveries`, { key });
      return response.body.data.every((d: { status: string }) => d.status === 'succeeded') && response.body.total === 3
        ? response.body
        : undefined;
    });
    expect(log.data[0]).toMatchObject({ object: 'webhook_delivery', attempts: 1, last_status_code: 200 });
    await receiver.stop();
  });

  it('retries a failing endpoint with backoff and records every attempt', async () => {
    const { sandboxKey: key, receiver, endpoint } = await merchantWithEndpoint([500, 503, 200]);
    await api.request('POST', '/v1/customers', { key, body: { name: 'Retry me' } });
    const delivery = await eventually(async () => {
      const response = await api.request('GET', `/v1/webhook_endpoints/${endpoint.id}/deliveries`, { key });
      const [first] = response.body.data;
      return first?.status === 'succeeded' ? first : undefined;
    }, 20_000);
    expect(delivery).toMatchObject({ attempts: 3, last_status_code: 200, last_error: null, event_type: 'customer.created' });
    expect(receiver.received).toHaveLength(3);
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    await receiver.stop();
  });

  it('gives up after the last attempt and marks the delivery failed', async () => {
    const { sandboxKey: key, receiver, endpoint } = await merchantWithEndpoint([500]);
    await api.request('POST', '/v1/customers', { key, body: { name: 'Never delivered' } });
    const delivery = await eventually(async () => {
      const response = await api.request('GET', `/v1/webhook_endpoints/${endpoint.id}/deliveries`, { key });
      const [first] = response.body.data;
      return first?.status === 'failed' ? first : undefined;
    }, 20_000);
    expect(delivery).toMatchObject({ attempts: Number(api.config.WEBHOOK_MAX_ATTEMPTS), last_status_code: 500 });
    expect(delivery.last_error).toMatch(/HTTP 500/);
    await receiver.stop();
  });

  it('sends an endpoint only the event types it subscribed to', async () => {
    const { sandboxKey: key, receiver, endpoint } = await merchantWithEndpoint([200], ['customer.updated']);
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: {} });
    await api.request('PATCH', `/v1/customers/${customer.id}`, { key, body: { name: 'only this' } });
    await eventually(async () => (receiver.received.length === 1 ? true : undefined));
    const deliveries = await api.request('GET', `/v1/webhook_endpoints/${endpoint.id}/deliveries`, { key });
    expect(deliveries.body.data.map((d: { event_type: string }) => d.event_type)).toEqual(['customer.updated']);
    expect(JSON.parse(receiver.received[0]!.body).type).toBe('customer.updated');
    await receiver.stop();
  });

  it('hands over an event that no request dispatched (a crash after commit) through the relay', async () => {
    const { sandboxKey: key, merchantId, receiver } = await merchantWithEndpoint([200]);
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: {} });
    await eventually(async () => (receiver.received.length === 1 ? true : undefined));
    const eventId = await api.runtime.db.$transaction((tx) =>
      recordEvent(tx, { merchantId, environment: 'sandbox' }, 'customer.updated', customer),
    );
    await eventually(async () => (receiver.received.length === 2 ? true : undefined), 20_000, 'relayed delivery');
    expect(JSON.parse(receiver.received[1]!.body).id).toBe(eventId);
    const event = await api.runtime.db.event.findUniqueOrThrow({ where: { id: eventId } });
    expect(event.dispatchedAt).not.toBeNull();
    const run = api.runtime.temporal.workflow.getHandle(workflowIds.webhookEvent(eventId));
    expect(Object.values(await run.result())).toEqual(['succeeded']);
    await receiver.stop();
  });

  it('validates endpoints and hides the secret after creation', async () => {
    const { sandboxKey: key, endpoint } = await merchantWithEndpoint([200]);
    const bad = await api.request('POST', '/v1/webhook_endpoints', { key, body: { url: 'ftp://x', enabled_events: ['customer.exploded'] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.errors.map((e: { param: string }) => e.param)).toEqual(['url', 'enabled_events.0']);
    const read = await api.request('GET', `/v1/webhook_endpoints/${endpoint.id}`, { key });
    expect(read.body.secret).toBeUndefined();
    const removed = await api.request('DELETE', `/v1/webhook_endpoints/${endpoint.id}`, { key });
    expect(removed.body.deleted).toBe(true);
    expect((await api.request('GET', '/v1/webhook_endpoints', { key })).body.total).toBe(0);
  });
});
