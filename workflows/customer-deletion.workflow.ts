import { ActivityFailure, condition, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  SEARCH_ATTRIBUTES,
  deletionProgressQuery,
  deletionRetrySignal,
  type CustomerDeletionInput,
  type DeletionProgress,
} from './definitions.js';

const { markCustomerDeleted, recordDeletionActionRequired, recordDeletionResumed } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  // A transient failure (database restarting) is retried with bounded backoff for about four
  // minutes; a domain error is non-retryable and stops at once. Either way the step then waits
  // for a person instead of retrying forever.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 8 },
});

function reasonOf(error: ActivityFailure): string {
  return error.cause?.message ?? error.message;
}

function setStatus(status: DeletionProgress['status']): void {
  upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.deletionStatus, value: status }]);
}

/**
 * Deletes a customer. The API has already marked it `deleting` (so it takes no new objects and
 * leaves lists) before starting this run. Each step is an idempotent activity owned by the
 * resource it changes, so a crash at any point resumes without doing a step twice. A step that
 * fails for good is never skipped: the run records why, shows `action_required` (API, query,
 * DeletionStatus search attribute) and waits for the retry signal to run that step again.
 */
export async function customerDeletionWorkflow(input: CustomerDeletionInput): Promise<DeletionProgress> {
  const { customerId } = input;
  const steps: [name: string, run: () => Promise<unknown>][] = [
    // Frees the external id and email for reuse and emits customer.deleted.
    ['mark_deleted', () => markCustomerDeleted(customerId)],
  ];
  const progress: DeletionProgress = {
    customerId,
    status: 'running',
    steps: steps.map(([name]) => ({ name, state: 'pending' })),
  };
  let retryRequested = false;
  setHandler(deletionProgressQuery, () => progress);
  setHandler(deletionRetrySignal, () => {
    retryRequested = true;
  });

  for (const [index, [name, run]] of steps.entries()) {
    const step = progress.steps[index]!;
    for (;;) {
      step.state = 'running';
      try {
        await run();
        step.state = 'completed';
        break;
      } catch (error) {
        if (!(error instanceof ActivityFailure)) throw error;
        step.state = 'action_required';
        step.detail = reasonOf(error);
        progress.status = 'action_required';
        setStatus('action_required');
        retryRequested = false;
        await recordDeletionActionRequired(customerId, name, step.detail);
        await condition(() => retryRequested);
        delete step.detail;
        progress.status = 'running';
        setStatus('running');
        await recordDeletionResumed(customerId);
      }
    }
  }
  progress.status = 'completed';
  setStatus('completed');
  return progress;
}
