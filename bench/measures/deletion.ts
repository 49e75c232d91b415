import { mapWithConcurrency } from '../../src/lib/concurrency.js';
import type { BenchEnvironment } from '../env.js';
import { formatNumber as n, percentile, progress, type Row } from '../table.js';
import { measureWorkflowRate } from './workflow-rate.js';

const CUSTOMERS = Number(process.env.BENCH_DELETIONS ?? 100);

/**
 * Customers with three subscriptions, a wallet with credits and five draft invoices each, all
 * deleted at once: each deletion's time from DELETE to completed, and deletions per second on the
 * one worker; beside it, the rate of trivial one-activity workflows on the same server.
 */
export async function measureDeletion(env: BenchEnvironment): Promise<Row[]> {
  const { key } = await env.merchant('Bench deletions');
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${env.apiUrl}${path}`, {
      method,
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as { id: string };
  };
  let made = 0;
  const ids = await mapWithConcurrency(Array.from({ length: CUSTOMERS }, (_, i) => i), 8, async (i) => {
    const { id } = await call('POST', '/v1/customers', { name: `Leaving ${i}`, email: `leaving-${i}@bench.test`, currency: 'EUR' });
    for (const billingTime of ['in_advance', 'in_advance', 'in_arrears']) {
      await call('POST', '/v1/subscriptions', { customer_id: id, plan_code: 'pro', amount: 3000, currency: 'EUR', billing_time: billingTime });
    }
    await call('POST', '/v1/wallets', { customer_id: id, currency: 'EUR', granted_credits: 2000 });
    for (let draft = 0; draft < 5; draft++) {
      await call('POST', '/v1/invoices', { customer_id: id, currency: 'EUR', lines: [{ description: `Item ${draft}`, unit_amount: 500 }] });
    }
    progress(`deletion: ${++made} / ${CUSTOMERS} customers with billing objects`);
    return id;
  });

  await mapWithConcurrency(ids, 16, (id) => call('DELETE', `/v1/customers/${id}`));
  const deadline = Date.now() + 300_000;
  let done: { createdAt: Date; completedAt: Date | null }[] = [];
  while (Date.now() < deadline) {
    done = await env.db.customerDeletion.findMany({ where: { customerId: { in: ids } }, select: { createdAt: true, completedAt: true, status: true } });
    const completed = done.filter((deletion) => deletion.completedAt);
    progress(`deletion: ${completed.length} / ${CUSTOMERS} deleted`);
    if (completed.length === CUSTOMERS) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const completed = done.filter((deletion) => deletion.completedAt);
  const durations = completed.map((deletion) => deletion.completedAt!.getTime() - deletion.createdAt.getTime());
  const first = Math.min(...done.map((deletion) => deletion.createdAt.getTime()));
  const last = Math.max(...completed.map((deletion) => deletion.completedAt!.getTime()));
  const perSecond = completed.length / ((last - first) / 1000);
  const limit = await measureWorkflowRate(env);
  return [
    {
      measure: `deletion: ${CUSTOMERS} customers (3 subscriptions, a wallet, 5 drafts each), all at once`,
      figure: `p50 ${n(percentile(durations, 50))} ms, p99 ${n(percentile(durations, 99))} ms, ${n(perSecond, 1)} deletions/s${completed.length < CUSTOMERS ? `, ${CUSTOMERS - completed.length} unfinished` : ''}`,
      limit: `${n(limit.completedPerSecond, 1)} one-activity workflows/s`,
      ratio: perSecond / limit.completedPerSecond,
      goal: 'p50 < 1 s, >= 20 deletions/s on one worker',
      met: completed.length === CUSTOMERS && percentile(durations, 50) < 1000 && perSecond >= 20,
    },
  ];
}
