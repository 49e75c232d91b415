import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIds } from '../../workflows/definitions.js';
import { recordEvents } from '../../src/events/outbox.js';
import { eventually, startTestApi, type TestApi } from '../support/harness.js';
import { startReceiver } from '../support/receiver.js';

describe('webhooks: events on the bus, delivered by one workflow per endpoint', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.stop());

  async function endpointFor(key: string, answers: number[], enabledEvents?: string[]) {
    const receiver = await startReceiver(answers);
    const endpoint = await api.request('POST', '/v1/webhook_endpoints', {
      key,
      body: { url: receiver.url, ...(enabledEvents && { enabled_events: enabledEvents }) },
    });
    expect(endpoint.status).toBe(201);
    expect(endpoint.body.secret).toMatch(/^whsec_/);
    return { receiver, endpoint: endpoint.body };
  }

  async function merchantWithEndpoint(answers: number[], enabledEvents?: string[]) {
    const merchant = await api.merchant('Webhooks');
    return { ...merchant, ...(await endpointFor(merchant.sandboxKey, answers, enabledEvents)) };
  }

  const deliveries = async (key: string, endpointId: string) =>
    (await api.request('GET', `/v1/webhook_endpoints/${endpointId}/deliveries`, { key })).body;

  it('signs per Standard Webhooks and delivers created, updated, tag and deleted events', async () => {
    const { sandboxKey: key, receiver, endpoint } = await merchantWithEndpoint([200]);
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: { email: 'hook@example.com', tags: ['vip'] } });
    await api.request('PATCH', `/v1/customers/${customer.id}`, { key, body: { name: 'Hooked', tags: ['trial'] } });
    await api.request('DELETE', `/v1/customers/${customer.id}`, { key });

    const expected = ['customer.created', 'customer.deleted', 'customer.tag_added', 'customer.tag_added', 'customer.tag_removed', 'customer.updated'];
    await eventually(async () => (receiver.received.length >= expected.length ? true : undefined), 20_000, 'six deliveries');
    const events = receiver.received.map((request) => ({ request, event: JSON.parse(request.body) }));
    expect(events.map((e) => e.event.type).sort()).toEqual(expected);
    const verifier = new Webhook(endpoint.secret);
    for (const { request, event } of events) {
      expect(event).toMatchObject({ object: 'event', environment: 'sandbox', data: { object: { id: customer.id } } });
      expect(request.headers['webhook-id']).toBe(event.id);
      // The maintained verifier accepts the delivery as sent, and refuses it under another secret.
      expect(verifier.verify(request.body, request.headers as Record<string, string>)).toEqual(event);
      expect(() => new Webhook(`whsec_${Buffer.alloc(32, 1).toString('base64')}`).verify(request.body, request.headers as Record<string, string>)).toThrow();
    }
    const tags = events.filter((e) => e.event.type.startsWith('customer.tag_')).map((e) => `${e.event.type}:${e.event.data.tag}`);
    expect(tags.sort()).toEqual(['customer.tag_added:trial', 'customer.tag_added:vip', 'customer.tag_removed:vip']);
    const deleted = events.find((e) => e.event.type === 'customer.deleted')!;
    expect(deleted.event.data.object).toMatchObject({ deleted: true, status: 'deleted' });

    const log = await eventually(async () => {
      const page = await deliveries(key, endpoint.id);
      return page.total === expected.length && page.data.every((d: { status: string }) => d.status === 'succeeded') ? page : undefined;
    });
    expect(log.data[0]).toMatchObject({ object: 'webhook_delivery', attempts: 1, last_status_code: 200, next_attempt: null });
    const run = await api.runtime.temporal.workflow.getHandle(workflowIds.webhookEndpoint(endpoint.id)).describe();
    expect(run.type).toBe('webhookEndpointWorkflow');
    await receiver.stop();
  });

  it('retries a failing endpoint on the retry schedule and records every attempt', async () => {
    const { sandboxKey: key, receiver, endpoint } = await merchantWithEndpoint([500, 503, 200]);
    await api.request('POST', '/v1/customers', { key, body: { name: 'Retry me' } });
    const delivery = await eventually(async () => {
      const [first] = (await deliveries(key, endpoint.id)).data;
      return first?.status === 'succeeded' ? first : undefined;
    }, 20_000);
    expect(delivery).toMatchObject({ attempts: 3, last_status_code: 200, last_error: null, event_type: 'customer.created' });
    expect(receiver.received).toHaveLength(3);
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    await receiver.stop();
  });

  it('gives up after the last attempt of the schedule and marks the delivery failed', async () => {
    const { sandboxKey: key, receiver, endpoint } = await merchantWithEndpoint([500]);
    await api.request('POST', '/v1/customers', { key, body: { name: 'Never delivered' } });
    const delivery = await eventually(async () => {
      const [first] = (await deliveries(key, endpoint.id)).data;
      return first?.status === 'failed' ? first : undefined;
    }, 20_000);
    expect(delivery).toMatchObject({ attempts: api.config.WEBHOOK_RETRY_SCHEDULE.length + 1, last_status_code: 500 });
    expect(delivery.last_error).toMatch(/HTTP 500/);
    expect(receiver.received).toHaveLength(api.config.WEBHOOK_RETRY_SCHEDULE.length + 1);
    await receiver.stop();
  });

  it('sends an endpoint only the event types it subscribed to', async () => {
    const { sandboxKey: key, receiver, endpoint } = await merchantWithEndpoint([200], ['customer.updated']);
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: { tags: ['ignored'] } });
    await api.request('PATCH', `/v1/customers/${customer.id}`, { key, body: { name: 'first' } });
    await api.request('POST', `/v1/customers/${customer.id}/tags`, { key, body: { tags: ['also-ignored'] } });
    await api.request('PATCH', `/v1/customers/${customer.id}`, { key, body: { name: 'second' } });
    // The relay hands events over in order, so once the later update has arrived any wrongly
    // subscribed event recorded before it (created, tag_added) would have arrived too.
    await eventually(async () => (receiver.received.some((r) => JSON.parse(r.body).data.object.name === 'second') ? true : undefined));
    expect(receiver.received.map((r) => JSON.parse(r.body).type)).toEqual(['customer.updated', 'customer.updated', 'customer.updated']);
    const log = await deliveries(key, endpoint.id);
    expect(log.data.map((d: { event_type: string }) => d.event_type)).toEqual(['customer.updated', 'customer.updated', 'customer.updated']);
    await receiver.stop();
  });

  it('delivers an event that only reached the outbox (a crash right after commit): the relay hands over everything', async () => {
    const { sandboxKey: key, merchantId, receiver } = await merchantWithEndpoint([200]);
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: {} });
    await eventually(async () => (receiver.received.length === 1 ? true : undefined));
    await api.runtime.db.$transaction((tx) =>
      recordEvents(tx, { merchantId, environment: 'sandbox' }, [{ type: 'customer.updated', object: customer, customerId: customer.id }]),
    );
    await eventually(async () => (receiver.received.length === 2 ? true : undefined), 20_000, 'relayed delivery');
    const event = await api.runtime.db.event.findUniqueOrThrow({ where: { id: JSON.parse(receiver.received[1]!.body).id } });
    expect(event).toMatchObject({ type: 'customer.updated', customerId: customer.id });
    expect(event.dispatchedAt).not.toBeNull();
    await receiver.stop();
  });

  it('starts no workflow for a merchant without endpoints', async () => {
    const { sandboxKey: key, merchantId } = await api.merchant('No endpoints');
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: { tags: ['a', 'b'] } });
    await api.request('PATCH', `/v1/customers/${customer.id}`, { key, body: { name: 'changed' } });
    await eventually(async () => {
      const pending = await api.runtime.db.event.count({ where: { merchantId, dispatchedAt: null } });
      return pending === 0 ? true : undefined;
    }, 10_000, 'events dispatched');
    expect(await api.runtime.db.event.count({ where: { merchantId } })).toBe(4);
    const runs = [];
    for await (const run of api.runtime.temporal.workflow.list({ query: `MerchantId = '${merchantId}'` })) runs.push(run.workflowId);
    expect(runs).toEqual([]);
  });

  it('a deleted endpoint receives nothing more: its pending deliveries are cancelled', async () => {
    const merchant = await api.merchant('Deleted endpoint');
    const key = merchant.sandboxKey;
    // Fails every attempt, so its deliveries stay pending between retries.
    const doomed = await endpointFor(key, [500], ['customer.created']);
    const witness = await endpointFor(key, [200], ['customer.updated']);
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: {} });
    await eventually(async () => (doomed.receiver.received.length >= 1 ? true : undefined));
    const deleted = await api.request('DELETE', `/v1/webhook_endpoints/${doomed.endpoint.id}`, { key });
    expect(deleted.body.deleted).toBe(true);
    const seen = doomed.receiver.received.length;
    const log = await deliveries(key, doomed.endpoint.id);
    expect(log.data.map((d: { status: string }) => d.status)).toEqual(['cancelled']);
    // Later events reach the other endpoint; the deleted one gets neither those nor its retries.
    await api.request('PATCH', `/v1/customers/${customer.id}`, { key, body: { name: 'after' } });
    await api.request('POST', '/v1/customers', { key, body: {} });
    await eventually(async () => (witness.receiver.received.length === 1 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // two retry intervals of the doomed endpoint
    expect(doomed.receiver.received).toHaveLength(seen);
    await doomed.receiver.stop();
    await witness.receiver.stop();
  });

  it('a disabled endpoint receives nothing until enabled again', async () => {
    const { sandboxKey: key, receiver, endpoint } = await merchantWithEndpoint([200]);
    const disabled = await api.request('PATCH', `/v1/webhook_endpoints/${endpoint.id}`, { key, body: { status: 'disabled' } });
    expect(disabled.body.status).toBe('disabled');
    await api.request('POST', '/v1/customers', { key, body: { name: 'while disabled' } });
    await api.request('PATCH', `/v1/webhook_endpoints/${endpoint.id}`, { key, body: { status: 'enabled' } });
    await api.request('POST', '/v1/customers', { key, body: { name: 'after enabling' } });
    await eventually(async () => (receiver.received.length >= 1 ? true : undefined));
    expect(receiver.received.map((r) => JSON.parse(r.body).data.object.name)).toEqual(['after enabling']);
    await receiver.stop();
  });

  it('one hanging endpoint does not hold up another endpoint of the same merchant', async () => {
    const merchant = await api.merchant('Slow and fast');
    const key = merchant.sandboxKey;
    // Accepts the request and never answers: each attempt lasts the whole deadline.
    const hanging = await startReceiver([200], { hang: true });
    await api.request('POST', '/v1/webhook_endpoints', { key, body: { url: hanging.url } });
    const fast = await endpointFor(key, [200]);
    await api.request('POST', '/v1/customers', { key, body: { name: 'both' } });
    await eventually(async () => (fast.receiver.received.length === 1 ? true : undefined), 5_000);
    expect(hanging.received.length).toBeLessThanOrEqual(1);
    expect(hanging.answered).toBe(0);
    await hanging.stop();
    await fast.receiver.stop();
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
