import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { mapWithConcurrency } from '../../src/lib/concurrency.js';
import type { BenchEnvironment } from '../env.js';
import { progress } from '../table.js';

const WORKFLOWS = 400;

/**
 * The limit of workflow-bound measures, measured on the same Temporal server: how many trivial
 * one-activity workflows per second one worker starts and completes.
 */
export async function measureWorkflowRate(env: BenchEnvironment): Promise<{ completedPerSecond: number; startsPerSecond: number }> {
  const taskQueue = `bench-trivial-${Date.now()}`;
  const connection = await NativeConnection.connect({ address: env.stack.temporalAddress });
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowsPath: fileURLToPath(new URL('../workflows/trivial.workflow.ts', import.meta.url)),
    activities: { touch: async (n: number) => n },
  });
  const running = worker.run();
  try {
    // Warm the worker's bundle and caches.
    await env.temporal.workflow.execute('trivialWorkflow', { taskQueue, workflowId: `${taskQueue}-warm`, args: [0] });
    progress(`workflow rate: ${WORKFLOWS} trivial workflows`);
    const started = performance.now();
    const handles = await mapWithConcurrency(
      Array.from({ length: WORKFLOWS }, (_, i) => i),
      32,
      (i) => env.temporal.workflow.start('trivialWorkflow', { taskQueue, workflowId: `${taskQueue}-${i}`, args: [i] }),
    );
    const startsPerSecond = WORKFLOWS / ((performance.now() - started) / 1000);
    await Promise.all(handles.map((handle) => handle.result()));
    return { completedPerSecond: WORKFLOWS / ((performance.now() - started) / 1000), startsPerSecond };
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
  }
}
