import { ApplicationFailure, proxyActivities, setHandler } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { deletionProgressQuery, type CustomerDeletionInput, type DeletionProgress } from './definitions';

const { completeCustomerDeletion, failCustomerDeletion } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * Deletes a customer. The API has already marked it `deleting` (so it takes no new objects and
 * leaves lists) before starting this run. Billing steps (subscriptions, coupons, wallet, drafts)
 * join the step list when billing objects exist; each step is an idempotent activity.
 */
export async function customerDeletionWorkflow(input: CustomerDeletionInput): Promise<DeletionProgress> {
  const steps: [name: string, run: () => Promise<unknown>][] = [
    // Frees the external_id and email for reuse and emits customer.deleted.
    ['mark_deleted', () => completeCustomerDeletion(input.customerId)],
  ];
  const progress: DeletionProgress = {
    customerId: input.customerId,
    status: 'running',
    steps: steps.map(([name]) => ({ name, state: 'pending' })),
  };
  setHandler(deletionProgressQuery, () => progress);

  for (const [index, [, run]] of steps.entries()) {
    const step = progress.steps[index]!;
    step.state = 'running';
    try {
      await run();
      step.state = 'completed';
    } catch (error) {
      step.state = 'failed';
      step.detail = error instanceof Error ? error.message : String(error);
      progress.status = 'failed';
      await failCustomerDeletion(input.customerId, `${step.name}: ${step.detail}`);
      throw ApplicationFailure.nonRetryable(`Customer deletion failed at ${step.name}: ${step.detail}`);
    }
  }
  progress.status = 'completed';
  return progress;
}
