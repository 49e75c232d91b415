import type { Client } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/workflow';
import { SEARCH_ATTRIBUTES } from '../../workflows/definitions.js';
import type { Logger } from '../logger.js';

export interface NudgeDeps {
  temporal: Client;
  taskQueue: string;
  logger: Logger;
}

/** A queue workflow (see workflows/queue-loop.ts) and how to start it. */
export interface QueueWorkflow {
  workflowType: string;
  /** The signal without payload that says new rows are due. */
  signal: SignalDefinition<[]>;
  /** For the log line when a nudge fails: "a webhook endpoint workflow". */
  name: string;
}

export interface QueueTarget<Input> {
  workflowId: string;
  input: Input;
  /** The merchant's id, as the run's `MerchantId` search attribute. */
  merchantId: string;
}

/**
 * Wakes each target's queue workflow, starting it if it is not running (signal-with-start; the
 * signal carries nothing, the workflow reads due rows from the database). One target that cannot
 * be reached in Temporal does not stop the others; the failure is logged and the overdue-row
 * reconciler of the queue nudges it again. `guard` wraps each call (a deadline, say).
 */
export async function nudgeQueues<Input>(
  deps: NudgeDeps,
  queue: QueueWorkflow,
  targets: QueueTarget<Input>[],
  guard: (call: () => Promise<unknown>) => Promise<unknown> = (call) => call(),
): Promise<void> {
  const results = await Promise.allSettled(
    targets.map((target) =>
      guard(() =>
        deps.temporal.workflow.signalWithStart(queue.workflowType, {
          workflowId: target.workflowId,
          taskQueue: deps.taskQueue,
          args: [target.input],
          signal: queue.signal,
          signalArgs: [],
          typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.merchantId, value: target.merchantId }],
        }),
      ),
    ),
  );
  results.forEach((result, index) => {
    if (result.status === 'rejected') {
      deps.logger.warn({ err: result.reason, workflowId: targets[index]!.workflowId }, `could not nudge ${queue.name}; the reconciler will`);
    }
  });
}
