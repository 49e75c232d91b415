import { ActivityFailure, continueAsNew, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { LtvRollupInput, LtvRollupResult } from './definitions.js';

// Transient failures (the database restarting) are retried with bounded backoff for about five
// minutes; then the rollup is recorded as failed, and the next night's run repairs what it missed.
const retry = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 12 };

const { beginLtvRollup, finishLtvRollup, failLtvRollup, sendLtvDigests } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry,
});

const { refreshLtvBatch } = proxyActivities<Activities>({
  // A batch heartbeats every second; a worker that dies mid-batch is noticed within the heartbeat
  // timeout and the batch resumes on another worker after its last committed chunk.
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '10 seconds',
  retry,
});

/**
 * The LTV rollup (`ltv-rollup-<time>` nightly for every merchant, `ltv-rollup:<merchant>:<env>:<id>`
 * on demand): recomputes every customer's stats set-based, in keyset-paginated batches of
 * customers. Each run does one wave of `concurrency` batches side by side, then continues as new
 * from where the wave ended, so the history of a rollup over millions of customers stays small.
 */
export async function ltvRollupWorkflow(input: LtvRollupInput): Promise<LtvRollupResult> {
  const { workflowId, runId } = workflowInfo();
  const rollupId =
    input.after === undefined ? await beginLtvRollup({ rollupId: input.rollupId, scope: input.scope, workflowId, runId }) : input.rollupId!;

  let upTo: string | null;
  try {
    const wave = await Promise.all(
      Array.from({ length: input.concurrency }, (_, index) =>
        refreshLtvBatch({
          rollupId,
          scope: input.scope,
          after: input.after ?? null,
          skip: index * input.batchSize,
          size: input.batchSize,
          chunkSize: input.chunkSize,
        }),
      ),
    );
    upTo = wave.at(-1)!.upTo;
  } catch (error) {
    if (error instanceof ActivityFailure) await failLtvRollup(rollupId, error.cause?.message ?? error.message);
    throw error;
  }
  // The last batch of the wave ended before the last customer: more waves to go.
  if (upTo !== null) await continueAsNew<typeof ltvRollupWorkflow>({ ...input, rollupId, after: upTo });

  const customersDone = await finishLtvRollup(rollupId);
  if (input.digest) await sendLtvDigests(rollupId);
  return { rollupId, customersDone };
}
