import { ActivityFailure, condition, patched, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  SEARCH_ATTRIBUTES,
  deletionProgressQuery,
  deletionRetrySignal,
  type CustomerDeletionInput,
  type DeletionProgress,
} from './definitions.js';

// A transient failure (database restarting) is retried with bounded backoff for about four
// minutes; a domain error is non-retryable and stops at once. Either way the step then waits for
// a person instead of retrying forever.
const retry = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 8 } as const;

const {
  markCustomerDeleted,
  erasePersonalData,
  completeCustomerDeletion,
  recordDeletionActionRequired,
  recordDeletionResumed,
  stopCustomerSequences,
} = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry });

// The billing steps work through a customer's objects in batches and heartbeat after each one, so
// a worker that dies mid-step is noticed within seconds and the step resumes on another worker.
const { terminateCustomerSubscriptions, terminateCustomerCoupons, finalizeCustomerDraftInvoices, terminateCustomerWallets } =
  proxyActivities<Activities>({ startToCloseTimeout: '10 minutes', heartbeatTimeout: '10 seconds', retry });

/**
 * Runs started before the billing steps existed replay their single step, as they ran it; their
 * deletion row is then completed by the reconciler (DeletionService.reconcile).
 */
const BILLING_SAGA_PATCH = 'customer-deletion-billing-saga';

function reasonOf(error: ActivityFailure): string {
  return error.cause?.message ?? error.message;
}

function setStatus(status: DeletionProgress['status']): void {
  upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.deletionStatus, value: status }]);
}

type Step = [name: string, run: () => Promise<string | void>];

/**
 * Deletes a customer. The API has already marked it `deleting` (so it takes no new objects and
 * leaves lists) before starting this run. Each step is an idempotent activity owned by the
 * resource it changes, so a crash at any point resumes without doing a step twice. A step that
 * fails for good is never skipped: the run records why, shows `action_required` (API, query,
 * DeletionStatus search attribute) and waits for the retry signal to run that step again.
 *
 * The order matters (docs/deletion.md): subscriptions are settled while coupons still
 * discount their closing invoices; drafts are finalized while the wallet still pays them; the
 * wallet's remainder is voided only after that; personal data is erased last, once nothing needs
 * it any more.
 */
export async function customerDeletionWorkflow(input: CustomerDeletionInput): Promise<DeletionProgress> {
  const { customerId } = input;
  const billingSaga = patched(BILLING_SAGA_PATCH);
  const steps: Step[] = billingSaga
    ? [
        ['terminate_subscriptions', () => terminateCustomerSubscriptions(customerId)],
        ['terminate_coupons', () => terminateCustomerCoupons(customerId)],
        ['finalize_invoices', () => finalizeCustomerDraftInvoices(customerId)],
        ['terminate_wallets', () => terminateCustomerWallets(customerId)],
        // Frees the external id and email for reuse and emits customer.deleted.
        ['mark_deleted', () => markCustomerDeleted(customerId)],
        ['stop_sequences', () => stopCustomerSequences(customerId)],
        ['erase_personal_data', () => erasePersonalData(customerId)],
      ]
    : [['mark_deleted', () => markCustomerDeleted(customerId)]];
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
        const summary = await run();
        step.state = 'completed';
        if (summary) step.detail = summary;
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
  if (billingSaga) await completeCustomerDeletion(customerId);
  progress.status = 'completed';
  setStatus('completed');
  return progress;
}
