import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asActivity } from '../../activities/failures.js';
import { createActivities } from '../../activities/index.js';
import { ConflictError } from '../../src/lib/errors.js';
import type { Running } from '../../src/runtime.js';
import { eventually, runActivitiesWorker, startTestApi, type TestApi } from '../support/harness.js';
import { address, mailTo, sleep } from '../support/messaging.js';

describe('merchant notifications: a deletion that needs action, a webhook endpoint that starts failing', () => {
  const taskQueue = `notifications-${process.pid}`;
  let api: TestApi;
  let worker: Running;

  beforeAll(async () => {
    api = await startTestApi({ TEMPORAL_TASK_QUEUE: taskQueue });
    const real = createActivities(api.runtime.services);
    // The real activities, with the deletion's step failing for a business reason.
    const activities = {
      ...real,
      markCustomerDeleted: () => asActivity(() => Promise.reject(new ConflictError('an open invoice needs a decision'))),
    };
    worker = await runActivitiesWorker(api, taskQueue, activities);
  });
  afterAll(async () => {
    await worker.stop();
    await api.stop();
  });

  async function merchantNotifiedAt(email: string | null) {
    const merchant = await api.merchant('Notified');
    if (email) await api.request('PATCH', '/v1/settings', { key: merchant.sandboxKey, body: { notification_email: email } });
    return merchant;
  }

  it('emails the notification address once when a deletion enters action_required', async () => {
    const ops = address('ops');
    const { sandboxKey: key, merchantId } = await merchantNotifiedAt(ops);
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: { email: address('leaving') } });
    await api.request('DELETE', `/v1/customers/${customer.id}`, { key });

    const [notice] = await eventually(async () => {
      const caught = await mailTo(ops);
      return caught.length > 0 ? caught : undefined;
    }, 30_000, 'the notification');
    expect(notice!.subject).toBe(`[sandbox] Customer deletion needs action: ${customer.id}`);
    expect(notice!.text).toContain('Step: mark_deleted');
    expect(notice!.text).toContain('Reason: an open invoice needs a decision');
    expect(notice!.text).toContain(`Resume: POST /v1/customers/${customer.id}/deletion/retry`);
    const [event] = await api.runtime.db.event.findMany({ where: { merchantId, type: 'customer.deletion_action_required' } });
    expect(event).toMatchObject({ customerId: customer.id, data: expect.objectContaining({ step: 'mark_deleted', reason: 'an open invoice needs a decision' }) });

    // The activity repeated (a retry after its commit) records nothing more and sends nothing more.
    await createActivities(api.runtime.services).recordDeletionActionRequired(customer.id, 'mark_deleted', 'an open invoice needs a decision');
    await sleep(2_000);
    expect(await api.runtime.db.event.count({ where: { merchantId, type: 'customer.deletion_action_required' } })).toBe(1);
    expect(await mailTo(ops)).toHaveLength(1);
  });

  it("sends each environment's notices to that environment's address: a sandbox key cannot redirect the live ones", async () => {
    const liveOps = address('live-ops');
    const sandboxOps = address('sandbox-ops');
    const { sandboxKey, liveKey } = await api.merchant('Two addresses');
    await api.request('PATCH', '/v1/settings', { key: liveKey, body: { notification_email: liveOps } });
    await api.request('PATCH', '/v1/settings', { key: sandboxKey, body: { notification_email: sandboxOps } });
    const { body: customer } = await api.request('POST', '/v1/customers', { key: liveKey, body: {} });
    await api.request('DELETE', `/v1/customers/${customer.id}`, { key: liveKey });

    const [notice] = await eventually(async () => {
      const caught = await mailTo(liveOps);
      return caught.length > 0 ? caught : undefined;
    }, 30_000, 'the live notification');
    expect(notice!.subject).toBe(`[live] Customer deletion needs action: ${customer.id}`);
    await sleep(1_500);
    expect(await mailTo(sandboxOps)).toEqual([]);
  });

  it('records the notice as skipped when the merchant has no notification address', async () => {
    const { sandboxKey: key, merchantId } = await merchantNotifiedAt(null);
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: {} });
    await api.request('DELETE', `/v1/customers/${customer.id}`, { key });
    const notice = await eventually(async () => {
      const [row] = await api.runtime.db.message.findMany({ where: { merchantId, kind: 'notification' } });
      return row?.status === 'skipped' ? row : undefined;
    });
    expect(notice.skipReason).toBe('the merchant has no notification address');
  });

  it('emails once per failing streak of a webhook endpoint: again only after it recovered and fails anew', async () => {
    const ops = address('hooks-ops');
    const { sandboxKey: key, merchantId } = await merchantNotifiedAt(ops);
    let status = 500;
    const server: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.statusCode = status;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
    const { body: endpoint } = await api.request('POST', '/v1/webhook_endpoints', { key, body: { url, enabled_events: ['customer.created'] } });
    const deliveries = async () => (await api.request('GET', `/v1/webhook_endpoints/${endpoint.id}/deliveries`, { key })).body.data as { status: string }[];
    const settled = (count: number) =>
      eventually(async () => {
        const all = await deliveries();
        return all.length === count && all.every((d) => d.status !== 'pending') ? all : undefined;
      }, 30_000, `${count} settled deliveries`);

    await api.request('POST', '/v1/customers', { key, body: { name: 'first failure' } });
    await api.request('POST', '/v1/customers', { key, body: { name: 'same streak' } });
    await settled(2);
    const [first] = await eventually(async () => {
      const caught = await mailTo(ops);
      return caught.length > 0 ? caught : undefined;
    }, 30_000, 'the failing notice');
    expect(first!.subject).toBe(`[sandbox] Webhook endpoint failing: ${url}`);
    expect(first!.text).toContain('Last error: endpoint answered HTTP 500');
    expect(first!.text).toContain(`Delivery log: GET /v1/webhook_endpoints/${endpoint.id}/deliveries`);

    status = 200;
    await api.request('POST', '/v1/customers', { key, body: { name: 'recovered' } });
    await settled(3);
    status = 500;
    await api.request('POST', '/v1/customers', { key, body: { name: 'fails anew' } });
    await settled(4);
    await eventually(async () => ((await mailTo(ops)).length === 2 ? true : undefined), 30_000, 'the second streak notice');
    await sleep(1_500);
    expect((await mailTo(ops)).map((m) => m.subject)).toEqual([first!.subject, first!.subject]);
    expect(await api.runtime.db.message.count({ where: { merchantId, kind: 'notification' } })).toBe(2);
    server.closeAllConnections();
    server.close();
  });
});
