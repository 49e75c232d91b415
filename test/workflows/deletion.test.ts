import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeletionActivities } from '../../activities/deletion.activities.js';
import { SEARCH_ATTRIBUTES, deletionProgressQuery, workflowIds } from '../../workflows/definitions.js';
import { eventually, startTestApi, type TestApi } from '../support/harness.js';

describe('customer deletion workflow, started by the API and completed by the real worker', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.stop());

  it('runs under its business id with CustomerId and MerchantId search attributes', async () => {
    const { sandboxKey: key, merchantId } = await api.merchant('Deleter');
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: { email: 'wf@example.com' } });
    const accepted = await api.request('DELETE', `/v1/customers/${customer.id}`, { key });
    expect(accepted.status).toBe(202);

    const handle = api.runtime.temporal.workflow.getHandle(workflowIds.customerDeletion(customer.id));
    const result = await handle.result();
    expect(result).toMatchObject({ customerId: customer.id, status: 'completed' });
    expect(result.steps.map((step: { name: string; state: string }) => `${step.name}:${step.state}`)).toEqual([
      'terminate_subscriptions:completed',
      'terminate_coupons:completed',
      'finalize_invoices:completed',
      'terminate_wallets:completed',
      'mark_deleted:completed',
      'stop_sequences:completed',
      'erase_personal_data:completed',
    ]);
    expect(await handle.query(deletionProgressQuery)).toMatchObject({ status: 'completed' });

    const description = await handle.describe();
    expect(description.runId).toBe(accepted.body.run_id);
    expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.customerId)).toBe(customer.id);
    expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.merchantId)).toBe(merchantId);

    const stored = await api.runtime.db.customer.findUniqueOrThrow({ where: { id: customer.id } });
    expect(stored.status).toBe('deleted');
    expect(stored.deletedAt).not.toBeNull();
    const deletedEvents = await api.runtime.db.event.count({ where: { merchantId, type: 'customer.deleted' } });
    expect(deletedEvents).toBe(1);
  });

  it('is findable in visibility by CustomerId, as the Temporal UI searches', async () => {
    const { sandboxKey: key } = await api.merchant('Visible');
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: {} });
    await api.request('DELETE', `/v1/customers/${customer.id}`, { key });
    await api.runtime.temporal.workflow.getHandle(workflowIds.customerDeletion(customer.id)).result();
    const query = `CustomerId = '${customer.id}' AND WorkflowType = 'customerDeletionWorkflow'`;
    const found = await eventually(async () => {
      const ids: string[] = [];
      for await (const run of api.runtime.temporal.workflow.list({ query })) ids.push(run.workflowId);
      return ids.length > 0 ? ids : undefined;
    });
    expect(found).toEqual([workflowIds.customerDeletion(customer.id)]);
  });

  it('repeating the marking or completing activity does not emit a second customer.deleted', async () => {
    const { sandboxKey: key, merchantId } = await api.merchant('Twice');
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: {} });
    await api.request('DELETE', `/v1/customers/${customer.id}`, { key });
    await api.runtime.temporal.workflow.getHandle(workflowIds.customerDeletion(customer.id)).result();
    await createDeletionActivities(api.runtime.services).markCustomerDeleted(customer.id);
    await createDeletionActivities(api.runtime.services).completeCustomerDeletion(customer.id);
    expect(await api.runtime.db.event.count({ where: { merchantId, type: 'customer.deleted' } })).toBe(1);
  });

  it('the reconciler completes a deletion whose run completed but left it running (runs from before the billing saga)', async () => {
    const { sandboxKey: key } = await api.merchant('Legacy run');
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: {} });
    await api.request('DELETE', `/v1/customers/${customer.id}`, { key });
    await api.runtime.temporal.workflow.getHandle(workflowIds.customerDeletion(customer.id)).result();
    await api.runtime.db.customerDeletion.update({
      where: { customerId: customer.id },
      data: { status: 'running', completedAt: null, updatedAt: new Date(Date.now() - 60_000) },
    });
    await api.runtime.services.deletions.reconcile(1_000);
    const deletion = await api.runtime.db.customerDeletion.findUniqueOrThrow({ where: { customerId: customer.id } });
    expect(deletion.status).toBe('completed');
    expect(deletion.completedAt).not.toBeNull();
  });
});
