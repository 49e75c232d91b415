import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asActivity } from '../../activities/failures.js';
import { createActivities } from '../../activities/index.js';
import { SEARCH_ATTRIBUTES, workflowIds } from '../../workflows/definitions.js';
import { freePort, startStack, type StackOptions } from '../../src/dev/stack.js';
import { ConflictError } from '../../src/lib/errors.js';
import { createLogger } from '../../src/logger.js';
import { createRuntime, startWorker, type Running, type Runtime } from '../../src/runtime.js';
import { freshDatabase, type FreshDatabase } from '../support/database.js';
import { eventually, runActivitiesWorker, startTestApi, testConfig, type TestApi } from '../support/harness.js';

describe('a deletion step that fails for good waits for a person', () => {
  const taskQueue = `deletion-action-required-${process.pid}`;
  let api: TestApi;
  let worker: Running;
  let failing = true;

  beforeAll(async () => {
    api = await startTestApi({ TEMPORAL_TASK_QUEUE: taskQueue });
    const real = createActivities(api.runtime.services);
    // The real activities, with one step failing for a business reason until the test fixes it.
    const activities = {
      ...real,
      markCustomerDeleted: (customerId: string) =>
        failing
          ? asActivity(() => Promise.reject(new ConflictError('the ledger for this customer is locked by an audit')))
          : real.markCustomerDeleted(customerId),
    };
    worker = await runActivitiesWorker(api, taskQueue, activities);
  });
  afterAll(async () => {
    await worker.stop();
    await api.stop();
  });

  it('shows action_required with the reason in the API, the query and the Temporal UI, then resumes on retry', async () => {
    const { sandboxKey: key } = await api.merchant('Action required');
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: { email: 'stuck@example.com' } });
    const retryEarly = await api.request('POST', `/v1/customers/${customer.id}/deletion/retry`, { key });
    expect(retryEarly.status).toBe(404);
    await api.request('DELETE', `/v1/customers/${customer.id}`, { key });

    const waiting = await eventually(async () => {
      const status = await api.request('GET', `/v1/customers/${customer.id}/deletion`, { key });
      return status.body.status === 'action_required' ? status.body : undefined;
    });
    expect(waiting).toMatchObject({ current_step: 'mark_deleted', failure_reason: 'the ledger for this customer is locked by an audit' });
    // The billing steps before it are done; nothing after it ran.
    expect(waiting.steps.map((step: { name: string; state: string }) => `${step.name}:${step.state}`)).toEqual([
      'terminate_subscriptions:completed',
      'terminate_coupons:completed',
      'finalize_invoices:completed',
      'terminate_wallets:completed',
      'mark_deleted:action_required',
      'stop_sequences:pending',
      'erase_personal_data:pending',
    ]);
    expect(waiting.steps[4].detail).toBe('the ledger for this customer is locked by an audit');
    const handle = api.runtime.temporal.workflow.getHandle(workflowIds.customerDeletion(customer.id));
    expect((await handle.describe()).typedSearchAttributes.get(SEARCH_ATTRIBUTES.deletionStatus)).toBe('action_required');
    // As the Temporal UI's search box finds it.
    const found = await eventually(async () => {
      const ids: string[] = [];
      for await (const run of api.runtime.temporal.workflow.list({ query: `DeletionStatus = 'action_required' AND CustomerId = '${customer.id}'` })) {
        ids.push(run.workflowId);
      }
      return ids.length ? ids : undefined;
    });
    expect(found).toEqual([workflowIds.customerDeletion(customer.id)]);
    // Still deleting: not deleted behind the person's back, and out of lists.
    expect((await api.request('GET', `/v1/customers/${customer.id}`, { key })).body.status).toBe('deleting');

    failing = false;
    const retried = await api.request('POST', `/v1/customers/${customer.id}/deletion/retry`, { key });
    expect(retried.status).toBe(202);
    const result = await handle.result();
    expect(result.status).toBe('completed');
    const done = await api.request('GET', `/v1/customers/${customer.id}/deletion`, { key });
    expect(done.body).toMatchObject({ status: 'completed', failure_reason: null, current_step: null });
    expect((await handle.describe()).typedSearchAttributes.get(SEARCH_ATTRIBUTES.deletionStatus)).toBe('completed');
    const again = await api.request('POST', `/v1/customers/${customer.id}/deletion/retry`, { key });
    expect(again.status).toBe(409);
  });
});

describe('no deletion is left stuck when Temporal is away', () => {
  let database: FreshDatabase;
  let dataDir: string;
  let options: StackOptions;
  let runtime: Runtime;
  let worker: Running;

  beforeAll(async () => {
    // A database and a Temporal server of their own: the suite's reconciler must not help.
    database = await freshDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'temporal-outage-'));
    await chmod(dataDir, 0o755);
    options = {
      dataDir,
      persistent: true,
      ports: { postgres: 0, temporal: await freePort(), smtp: await freePort(), mailUi: await freePort() },
      namespace: 'default',
      external: { databaseUrl: database.url },
      logger: createLogger('error', 'temporal-outage'),
    };
  });
  afterAll(async () => {
    await database.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('DELETE answers 202 while Temporal is down, and the deletion completes once it is back', async () => {
    let stack = await startStack(options);
    const overrides = {
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: stack.temporalAddress,
      TEMPORAL_TASK_QUEUE: `outage-${process.pid}`,
      DELETION_STUCK_AFTER_MS: '500',
      HOUSEKEEPING_INTERVAL_MS: '300',
    };
    const config = testConfig(overrides);
    const logger = createLogger('silent', 'temporal-outage');
    runtime = await createRuntime(config, logger);
    worker = await startWorker(runtime, config, logger);
    const api = await startTestApi(overrides);
    try {
      const { sandboxKey: key } = await api.merchant('Outage');
      const { body: customer } = await api.request('POST', '/v1/customers', { key, body: { external_id: 'outage-1' } });

      await stack.stop();
      const accepted = await api.request('DELETE', `/v1/customers/${customer.id}`, { key });
      expect(accepted.status).toBe(202);
      expect(accepted.body).toMatchObject({ status: 'running', run_id: null, workflow_id: `customer-deletion:${customer.id}` });
      expect((await api.request('GET', `/v1/customers/${customer.id}`, { key })).body.status).toBe('deleting');
      expect((await api.request('GET', '/v1/customers?external_id=outage-1', { key })).body.total).toBe(0);

      stack = await startStack(options);
      const done = await eventually(
        async () => {
          const status = await api.request('GET', `/v1/customers/${customer.id}/deletion`, { key });
          return status.body.status === 'completed' ? status.body : undefined;
        },
        60_000,
        'the reconciler to start and the worker to finish the deletion',
      );
      expect(done.run_id).toMatch(/^[0-9a-f-]{36}$/);
      expect((await api.request('GET', `/v1/customers/${customer.id}`, { key })).status).toBe(404);
    } finally {
      await api.stop();
      await worker.stop();
      await runtime.stop();
      await stack.stop();
    }
  }, 120_000);
});
