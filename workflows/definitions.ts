// The one place that names the workflows, their ids, inputs, search attributes, queries and
// signals. Imported by workflow code and by the client side (services, tests), so it must stay free
// of I/O and must not import workflow or activity code.
import { defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';

export const SEARCH_ATTRIBUTES = {
  customerId: defineSearchAttributeKey('CustomerId', 'KEYWORD'),
  merchantId: defineSearchAttributeKey('MerchantId', 'KEYWORD'),
  /** `running`, `action_required`, `completed`: search `DeletionStatus = "action_required"` in the UI. */
  deletionStatus: defineSearchAttributeKey('DeletionStatus', 'KEYWORD'),
} as const;

/** Workflow type names, as registered by the worker (the exported function names). */
export const WORKFLOW_TYPES = {
  customerDeletion: 'customerDeletionWorkflow',
  webhookEndpoint: 'webhookEndpointWorkflow',
  ltvRollup: 'ltvRollupWorkflow',
} as const;

export const workflowIds = {
  customerDeletion: (customerId: string) => `customer-deletion:${customerId}`,
  webhookEndpoint: (endpointId: string) => `webhook-endpoint:${endpointId}`,
  /** An on-demand rollup of one merchant and environment. */
  ltvRollup: (scope: RollupScope, rollupId: string) => `ltv-rollup:${scope.merchantId}:${scope.environment}:${rollupId}`,
} as const;

/** The nightly rollup of every merchant; Temporal names each of its runs `ltv-rollup-<scheduled time>`. */
export const LTV_ROLLUP_SCHEDULE_ID = 'ltv-rollup';

// --- Customer deletion -------------------------------------------------------------------------

export type StepState = 'pending' | 'running' | 'completed' | 'action_required';

export interface DeletionProgress {
  customerId: string;
  status: 'running' | 'action_required' | 'completed';
  /** `detail`: what a completed step did, or why a step waits for action. */
  steps: { name: string; state: StepState; detail?: string }[];
}

export interface CustomerDeletionInput {
  customerId: string;
}

export const deletionProgressQuery = defineQuery<DeletionProgress>('deletionProgress');
/** Resumes a deletion waiting in `action_required` from the step that failed. */
export const deletionRetrySignal = defineSignal('deletionRetry');

// --- Webhook delivery ----------------------------------------------------------------------------

export interface WebhookEndpointInput {
  endpointId: string;
}

/** New deliveries are due: carries no payload, the workflow reads them from the database. */
export const webhookDeliveriesDueSignal = defineSignal('webhookDeliveriesDue');

// --- LTV rollup -----------------------------------------------------------------------------------

export interface RollupScope {
  merchantId: string;
  environment: 'sandbox' | 'live';
}

/** How a rollup cuts its work: customers per batch (one activity), batches at once, customers per chunk. */
export interface LtvRollupSettings {
  batchSize: number;
  concurrency: number;
  chunkSize: number;
}

export interface LtvRollupInput extends LtvRollupSettings {
  /** One merchant and environment (on demand); absent: every merchant (the nightly schedule). */
  scope?: RollupScope;
  /** Chosen by the API, which answers with it before the run starts; the nightly run gets one at its start. */
  rollupId?: string;
  /** Email each merchant its digest at the end (the nightly run). */
  digest: boolean;
  /** Set when the run continues as new: the customer id the next batches start after. */
  after?: string;
}

export interface LtvRollupResult {
  rollupId: string;
  customersDone: number;
}
