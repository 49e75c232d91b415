import { once } from 'node:events';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ltvRollupWorkflow } from '../../workflows/ltv-rollup.workflow.js';
import { eventually, startTestApi, type TestApi } from '../support/harness.js';
import { insertScenario, scenarioArbitrary } from '../support/ltv-data.js';
import { expectedStats, storedStats } from '../support/ltv-oracle.js';
import { killableWorkers } from '../support/roles.js';

const CUSTOMERS = 400;

/**
 * A worker of its own on a task queue of its own, killed (SIGKILL: no drain, its connections die
 * with it) while a batch is half done. Batches of 100 customers in chunks of 25, two at a time: a
 * row lock this test holds on a customer in the third batch's third chunk stops that batch there,
 * after two committed chunks, which is when the worker is killed.
 */
describe('an LTV rollup whose worker is killed mid-batch', () => {
  const taskQueue = `ltv-kill-${process.pid}-${Date.now()}`;
  const workers = killableWorkers(taskQueue);
  const startWorker = workers.start;
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi({
      TEMPORAL_TASK_QUEUE: taskQueue,
      LTV_ROLLUP_BATCH_SIZE: '100',
      LTV_ROLLUP_CONCURRENCY: '2',
      LTV_ROLLUP_CHUNK_SIZE: '25',
    });
  });
  afterAll(async () => {
    await workers.stopAll();
    await api.stop();
  });

  it('resumes on a new worker after the last committed chunk: right numbers, each customer counted once', { timeout: 240_000 }, async () => {
    const first = await startWorker();
    const { db, pool } = api.runtime;
    const { merchantId, sandboxKey: key } = await api.merchant('Killed rollup');
    const scope = { merchantId, environment: 'sandbox' as const };
    const [scenario] = fc.sample(
      scenarioArbitrary({ customers: CUSTOMERS, payments: 1_600, subscriptions: 120, min: { customers: CUSTOMERS, payments: 1_200 } }),
      { seed: 11, numRuns: 1 },
    );
    const data = await insertScenario(db, scope, scenario!);
    const expected = expectedStats(data.liveCustomerIds, data.payments, data.subscriptions, data.invoices);
    // Stats exist, but all wrong: the rollup has to rewrite every row.
    await db.$transaction((tx) => api.runtime.services.stores.stats.refresh(tx, { ids: data.customerIds }));
    await db.customerStats.updateMany({ where: { merchantId }, data: { totalSpent: 0n, paymentCount: 0 } });

    const inIdOrder = (await db.customer.findMany({ where: { merchantId }, orderBy: { id: 'asc' }, select: { id: true } })).map((c) => c.id);
    const withStats = new Set(expected.map((row) => row.customerId));
    const blocker = inIdOrder.slice(255, 275).find((id) => withStats.has(id));
    expect(blocker).toBeDefined();
    const lock = await pool.connect();
    try {
      await lock.query('BEGIN');
      await lock.query('SELECT 1 FROM customer_stats WHERE customer_id = $1 FOR UPDATE', [blocker]);
      const { rows: [holder] } = await lock.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');

      const started = await api.request('POST', '/v1/analytics/rollups', { key });
      expect(started.status).toBe(202);
      await eventually(
        async () => {
          const { rows } = await pool.query('SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [holder!.pid]);
          return rows.length > 0 ? true : undefined;
        },
        60_000,
        'the third batch to wait on the locked row',
      );
      const atKill = (await api.request('GET', started.body.status_url, { key })).body;
      expect(atKill.status).toBe('running');
      expect(atKill.customers_done).toBeGreaterThan(0);
      expect(atKill.customers_done).toBeLessThan(data.liveCustomerIds.length);
      first.child.kill('SIGKILL');
      await once(first.child, 'exit');
      expect(first.child.signalCode).toBe('SIGKILL');
      await lock.query('ROLLBACK');

      await startWorker();
      const handle = api.runtime.temporal.workflow.getHandle<typeof ltvRollupWorkflow>(started.body.workflow_id);
      const result = await handle.result();
      expect(result).toEqual({ rollupId: started.body.id, customersDone: data.liveCustomerIds.length });
      // The batch the kill interrupted ran again, on the new worker, in the run (of the chain of
      // runs continued as new) that was waiting for it.
      const attempts: number[] = [];
      for (let runId: string | null | undefined = started.body.run_id; runId; ) {
        const { events } = await api.runtime.temporal.workflow.getHandle(started.body.workflow_id, runId).fetchHistory();
        for (const event of events!) {
          if (event.activityTaskStartedEventAttributes) attempts.push(Number(event.activityTaskStartedEventAttributes.attempt));
        }
        runId = events!.at(-1)!.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
      }
      expect(Math.max(...attempts)).toBeGreaterThanOrEqual(2);

      expect(await storedStats(db, merchantId)).toEqual(expected);
      const done = (await api.request('GET', started.body.status_url, { key })).body;
      expect(done).toMatchObject({
        status: 'completed',
        customers_done: data.liveCustomerIds.length,
        customers_total: data.liveCustomerIds.length,
      });
    } finally {
      await lock.query('ROLLBACK').catch(() => undefined);
      lock.release();
    }
  });
});
