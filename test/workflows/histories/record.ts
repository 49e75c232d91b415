// Records the workflow histories that test/workflows/replay.test.ts replays against the current
// workflow code, so a change that running workflows would replay differently fails a test
// instead of failing in production. Run it when a workflow gains a branch worth guarding (after
// the change, which new runs take behind `patched()`), and commit the JSON files it writes:
//
//   node --import tsx test/workflows/histories/record.ts [scenario name prefix...]
//
// (with prefixes, only the scenarios whose name starts with one of them: `sequence message-queue`)
//
// It starts its own throw-away stack (embedded Postgres, Temporal dev server, mail catcher), a
// worker and the API, runs each scenario below through the API, and saves each run's history as
// <scenario>.json next to this file. The files name no person: ids and amounts only.
// customer-deletion.before-billing-saga.json is not written here: it was recorded once with the
// workflow code of commit 9189f39 (before the billing saga), which the current code must still
// replay through its patched() branch.
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../../src/config.js';
import { startThrowawayStack } from '../../../src/dev/stack.js';
import { createLogger } from '../../../src/logger.js';
import { migrate } from '../../../src/migrate.js';
import { createRuntime, startApi, startWorker, type Runtime } from '../../../src/runtime.js';
import { workflowIds } from '../../../workflows/definitions.js';
import { historyToJson } from './history-json.js';

type Call = (method: string, path: string, body?: unknown) => Promise<any>;
/**
 * The run to record: a workflow id (its latest run, once it completed), or one run of it (once its
 * chain completed, or as it stands when `open`).
 */
type Recorded = string | { workflowId: string; runId?: string; open?: boolean };

/** Polls until `check` holds. */
async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await sleep(100);
}

/** A sequence's email step. */
const emailStep = (subject: string, delay = '0s') => ({ channel: 'email', delay, template: { subject, text: 'Hello' } });

/** How many messages a customer has, as the API lists them. */
const sent = async (call: Call, customerId: string) => (await call('GET', `/v1/customers/${customerId}/messages`)).data.length as number;

const DAY = 86_400_000;

/** Each scenario drives one run through the API and returns its workflow id. */
const SCENARIOS: Record<string, (call: Call, runtime: Runtime) => Promise<Recorded>> = {
  /** Every billing step has work: subscriptions of both billing times, a coupon, a wallet, drafts. */
  async 'customer-deletion.completed'(call) {
    const customer = await call('POST', '/v1/customers', { currency: 'USD' });
    const start = new Date(Date.now() - 5 * DAY).toISOString();
    for (const billing_time of ['in_advance', 'in_arrears']) {
      await call('POST', '/v1/subscriptions', { customer_id: customer.id, plan_code: 'pro', amount: 3000, currency: 'USD', billing_time, start_date: start });
    }
    await call('POST', '/v1/applied_coupons', { customer_id: customer.id, coupon_code: 'TEN', percent_off: 10, frequency: 'forever' });
    await call('POST', '/v1/wallets', { customer_id: customer.id, currency: 'USD', granted_credits: 2000 });
    await call('POST', '/v1/invoices', { customer_id: customer.id, currency: 'USD', lines: [{ description: 'Setup', unit_amount: 1500 }] });
    await call('DELETE', `/v1/customers/${customer.id}`);
    return workflowIds.customerDeletion(customer.id);
  },
  /** A draft that cannot be finalized stops the run at finalize_invoices; voided, then retried. */
  async 'customer-deletion.action-required-retried'(call) {
    const customer = await call('POST', '/v1/customers', { currency: 'EUR' });
    await call('POST', '/v1/subscriptions', { customer_id: customer.id, plan_code: 'basic', amount: 900, currency: 'EUR' });
    const draft = await call('POST', '/v1/invoices', { customer_id: customer.id, currency: 'EUR', lines: [{ description: 'Deposit returned', unit_amount: -500 }] });
    await call('DELETE', `/v1/customers/${customer.id}`);
    while ((await call('GET', `/v1/customers/${customer.id}/deletion`)).status !== 'action_required') await sleep(100);
    await call('POST', `/v1/invoices/${draft.id}/void`);
    await call('POST', `/v1/customers/${customer.id}/deletion/retry`);
    return workflowIds.customerDeletion(customer.id);
  },
  /** A sequence run that waits a delay between two sends and completes. */
  async 'sequence.completed'(call) {
    const sequence = await call('POST', '/v1/sequences', { name: 'Completed', trigger_tag: 'r-done', steps: [emailStep('One'), emailStep('Two', '1s')] });
    const customer = await call('POST', '/v1/customers', { email: 'completed@replay.test', tags: ['r-done'] });
    return workflowIds.sequence(sequence.id, customer.id);
  },
  /** A run told to stop (its tag removed) while it waits for its next step. */
  async 'sequence.stopped'(call) {
    const sequence = await call('POST', '/v1/sequences', {
      name: 'Stopped',
      trigger_tag: 'r-stop',
      steps: [emailStep('One'), emailStep('Two', '1h')],
    });
    const customer = await call('POST', '/v1/customers', { email: 'stopped@replay.test', tags: ['r-stop'] });
    await until(async () => (await sent(call, customer.id)) === 1);
    await call('DELETE', `/v1/customers/${customer.id}/tags/r-stop`);
    return workflowIds.sequence(sequence.id, customer.id);
  },
  /** A run whose enrolment ended without its stop signal, woken by the customer's next enrolment: it continues as new. */
  async 'sequence.continued-as-new'(call, runtime) {
    const sequence = await call('POST', '/v1/sequences', {
      name: 'Again',
      trigger_tag: 'r-again',
      reentry: 'after_exit',
      steps: [emailStep('One'), emailStep('Two', '1h')],
    });
    const customer = await call('POST', '/v1/customers', { email: 'again@replay.test' });
    await call('POST', `/v1/sequences/${sequence.id}/enrollments`, { customer_id: customer.id });
    await until(async () => (await sent(call, customer.id)) === 1);
    const workflowId = workflowIds.sequence(sequence.id, customer.id);
    const { runId } = await runtime.temporal.workflow.getHandle(workflowId).describe();
    await runtime.db.sequenceEnrollment.updateMany({ where: { customerId: customer.id }, data: { status: 'exited', exitReason: 'removed' } });
    await call('POST', `/v1/sequences/${sequence.id}/enrollments`, { customer_id: customer.id });
    await until(async () => (await sent(call, customer.id)) === 2);
    await call('DELETE', `/v1/sequences/${sequence.id}/enrollments/${customer.id}`);
    return { workflowId, runId, open: true };
  },
  /** A run whose next step finds its enrolment ended (the sequence was archived: no signal). */
  async 'sequence.ended-archived'(call) {
    const sequence = await call('POST', '/v1/sequences', {
      name: 'Archived',
      trigger_tag: 'r-arch',
      steps: [emailStep('One'), emailStep('Two', '2s')],
    });
    const customer = await call('POST', '/v1/customers', { email: 'archived@replay.test', tags: ['r-arch'] });
    await until(async () => (await sent(call, customer.id)) === 1);
    await call('POST', `/v1/sequences/${sequence.id}/archive`);
    return workflowIds.sequence(sequence.id, customer.id);
  },
  /** A sequence's enroller after a pass, waiting for its next nudge. */
  async 'sequence-enroller.pass'(call) {
    const sequence = await call('POST', '/v1/sequences', { name: 'Enroller', trigger_tag: 'r-enrol', steps: [{ channel: 'sms', template: { body: 'Hi' } }] });
    const customer = await call('POST', '/v1/customers', { phone: '+14155550142', tags: ['r-enrol'] });
    await until(async () => (await sent(call, customer.id)) === 1);
    return { workflowId: workflowIds.sequenceEnroller(sequence.id), open: true };
  },
  /** A merchant's message queue after sending a receipt, waiting for its next nudge. */
  async 'message-queue.pass'(call) {
    const customer = await call('POST', '/v1/customers', { email: 'receipt@replay.test' });
    await call('POST', '/v1/payments', { customer_id: customer.id, amount: 1200, currency: 'EUR', status: 'succeeded' });
    await until(async () => (await sent(call, customer.id)) === 1);
    const { merchant_id: merchantId } = await call('GET', '/v1/settings');
    return { workflowId: workflowIds.messageQueue(merchantId), open: true };
  },
  /** An endpoint's delivery loop: the first attempt fails, the retry (one second later) succeeds; waiting for a nudge. */
  async 'webhook-endpoint.retried'(call) {
    let attempts = 0;
    const receiver = createServer((request, response) => {
      request.resume().on('end', () => response.writeHead(++attempts === 1 ? 500 : 204).end());
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = receiver.address() as AddressInfo;
      const endpoint = await call('POST', '/v1/webhook_endpoints', { url: `http://127.0.0.1:${port}/hook`, enabled_events: ['customer.created'] });
      await call('POST', '/v1/customers', { name: 'Webhook replay' });
      await until(async () => (await call('GET', `/v1/webhook_endpoints/${endpoint.id}/deliveries`)).data[0]?.status === 'succeeded');
      return { workflowId: workflowIds.webhookEndpoint(endpoint.id), open: true };
    } finally {
      receiver.close();
    }
  },
  /** The first run of an LTV rollup over five customers in waves of 2 x 2: it begins, runs a wave, continues as new. */
  async 'ltv-rollup.first-run'(call) {
    const rollup = await ltvRollup(call);
    return { workflowId: rollup.workflow_id, runId: rollup.run_id };
  },
  /** The last run of such a rollup: its wave holds the last customer, and it finishes. */
  async 'ltv-rollup.last-run'(call) {
    return (await ltvRollup(call)).workflow_id;
  },
};

/** Five paying customers (one refunded, one subscribed), then the rollup of their merchant. */
async function ltvRollup(call: Call): Promise<{ workflow_id: string; run_id: string }> {
  for (let n = 1; n <= 5; n++) {
    const customer = await call('POST', '/v1/customers', { currency: 'EUR' });
    const payment = await call('POST', '/v1/payments', { customer_id: customer.id, amount: 1000 * n, currency: 'EUR', status: 'succeeded' });
    if (n === 2) await call('POST', `/v1/payments/${payment.id}/refunds`, { amount: 500 });
    if (n === 3) await call('POST', '/v1/subscriptions', { customer_id: customer.id, plan_code: 'pro', amount: 12000, currency: 'EUR' });
  }
  return call('POST', '/v1/analytics/rollups');
}

const logger = createLogger('warn', 'record-histories');
const stack = await startThrowawayStack({ name: 'record-histories', persistent: false, logger });
try {
  await migrate(stack.databaseUrl, logger);
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'test',
    PORT: '0',
    LOG_LEVEL: 'warn',
    DATABASE_URL: stack.databaseUrl,
    TEMPORAL_ADDRESS: stack.temporalAddress,
    SMTP_URL: stack.smtpUrl,
    TEMPORAL_TASK_QUEUE: 'record-histories',
    // Rollups in waves of two batches of two customers, so five customers already take two runs.
    LTV_ROLLUP_BATCH_SIZE: '2',
    LTV_ROLLUP_CONCURRENCY: '2',
    LTV_ROLLUP_CHUNK_SIZE: '1',
    // The webhook scenario's receiver listens on loopback; its one retry comes a second later.
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    WEBHOOK_RETRY_SCHEDULE: '1s',
  });
  const runtime = await createRuntime(config, logger);
  const worker = await startWorker(runtime, config, logger);
  const api = await startApi(runtime, config, logger);
  try {
    const { key } = await runtime.services.merchants.createMerchant('Replay fixtures', 'sandbox');
    const call: Call = async (method, path, body) => {
      const response = await fetch(`${api.url}${path}`, {
        method,
        headers: { 'x-api-key': key, ...(body !== undefined && { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const answer = await response.json();
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(answer)}`);
      return answer;
    };
    const only = process.argv.slice(2);
    const chosen = Object.entries(SCENARIOS).filter(([name]) => only.length === 0 || only.some((prefix) => name.startsWith(prefix)));
    for (const [name, scenario] of chosen) {
      const recorded = await scenario(call, runtime);
      const run = typeof recorded === 'string' ? { workflowId: recorded, runId: undefined, open: false } : { open: false, ...recorded };
      const handle = runtime.temporal.workflow.getHandle(run.workflowId, run.runId);
      // A sequence run is started by its enroller, a moment after the write that enrols.
      await until(() => handle.describe().then(() => true, () => false));
      if (!run.open) await handle.result();
      const file = new URL(`./${name}.json`, import.meta.url);
      await writeFile(file, `${JSON.stringify(historyToJson(await handle.fetchHistory()), null, 2)}\n`);
      console.log(`recorded ${file.pathname}`);
    }
  } finally {
    await api.stop();
    await worker.stop();
    await runtime.stop();
  }
} finally {
  await stack.stop();
}
