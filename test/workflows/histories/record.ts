// Records the workflow histories that test/workflows/replay.test.ts replays against the current
// workflow code, so a change that running workflows would replay differently fails a test
// instead of failing in production. Run it when a workflow gains a branch worth guarding (after
// the change, which new runs take behind `patched()`), and commit the JSON files it writes:
//
//   node --import tsx test/workflows/histories/record.ts
//
// It starts its own throw-away stack (embedded Postgres, Temporal dev server, mail catcher), a
// worker and the API, runs each scenario below through the API, and saves each run's history as
// <scenario>.json next to this file. The files name no person: ids and amounts only.
// customer-deletion.before-billing-saga.json is not written here: it was recorded once with the
// workflow code of commit 9189f39 (before the billing saga), which the current code must still
// replay through its patched() branch.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../../src/config.js';
import { freePort, startStack } from '../../../src/dev/stack.js';
import { createLogger } from '../../../src/logger.js';
import { migrate } from '../../../src/migrate.js';
import { createRuntime, startApi, startWorker } from '../../../src/runtime.js';
import { workflowIds } from '../../../workflows/definitions.js';
import { historyToJson } from './history-json.js';

type Call = (method: string, path: string, body?: unknown) => Promise<any>;
/** A workflow id (its latest run is recorded), or one run of it. */
type Recorded = string | { workflowId: string; runId: string };

const DAY = 86_400_000;

/** Each scenario drives one run through the API and returns its workflow id. */
const SCENARIOS: Record<string, (call: Call) => Promise<Recorded>> = {
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
const dataDir = await mkdtemp(join(tmpdir(), 'record-histories-'));
// Readable by the unprivileged user embedded Postgres runs as when this runs as root.
await chmod(dataDir, 0o755);
const stack = await startStack({
  dataDir,
  persistent: false,
  ports: { postgres: await freePort(), temporal: await freePort(), smtp: await freePort(), mailUi: await freePort() },
  namespace: 'default',
  external: {},
  logger,
});
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
    for (const [name, scenario] of Object.entries(SCENARIOS)) {
      const recorded = await scenario(call);
      const handle =
        typeof recorded === 'string'
          ? runtime.temporal.workflow.getHandle(recorded)
          : runtime.temporal.workflow.getHandle(recorded.workflowId, recorded.runId);
      await handle.result();
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
  await rm(dataDir, { recursive: true, force: true });
}
