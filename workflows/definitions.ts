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
  sequence: 'sequenceWorkflow',
  sequenceEnroller: 'sequenceEnrollerWorkflow',
  messageQueue: 'messageQueueWorkflow',
  ltvRollup: 'ltvRollupWorkflow',
} as const;

export const workflowIds = {
  customerDeletion: (customerId: string) => `customer-deletion:${customerId}`,
  webhookEndpoint: (endpointId: string) => `webhook-endpoint:${endpointId}`,
  sequence: (sequenceId: string, customerId: string) => `sequence:${sequenceId}:${customerId}`,
  sequenceEnroller: (sequenceId: string) => `sequence-enroller:${sequenceId}`,
  messageQueue: (merchantId: string) => `message-queue:${merchantId}`,
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

// --- Sequences -----------------------------------------------------------------------------------

/** One customer's run through one sequence (`sequence:<sequence id>:<customer id>`). */
export interface SequenceRunInput {
  enrollmentId: string;
  /** The step to resume at when the run continued as new. */
  step?: number;
}

/** Sent by the enroller with signal-with-start: this enrolment should run (the same one is ignored). */
export const sequenceEnrollSignal = defineSignal<[enrollmentId: string]>('sequenceEnroll');
/** The enrolment ended (tag removed, exit tag, unsubscribe, deletion): stop before the next send. */
export const sequenceStopSignal = defineSignal<[enrollmentId: string]>('sequenceStop');

/**
 * The idempotency key of a step's message, made in the workflow: unique per workflow, enrolment (a
 * customer may enter again under the same workflow id) and step.
 */
export const sequenceMessageKey = (workflowId: string, enrollmentId: string, step: number) => `${workflowId}:${enrollmentId}:${step}`;

/** What a step activity found: wait longer, the step is done (what next), or the enrolment ended. */
export type SequenceStepResult =
  | { kind: 'wait'; waitMs: number }
  | { kind: 'done'; outcome: 'sent' | 'skipped' | 'failed' | 'unknown'; next: { step: number; waitMs: number } | null }
  | { kind: 'ended'; reason: string };

/** Attempts of a step activity: a send that certainly did not happen is retried for about an hour. */
export const SEQUENCE_STEP_ATTEMPTS = 15;

/** Starts the workflows of a sequence's pending enrolments (`sequence-enroller:<sequence id>`). */
export interface SequenceEnrollerInput {
  sequenceId: string;
  /** Epoch ms until which start slots are taken (pacing carried across continue-as-new). */
  paceUntil?: number;
}

export interface EnrollerPass {
  started: number;
  /** The batch was full: run another pass at once. */
  more: boolean;
  paceUntil: number;
}

/** New pending enrolments exist: no payload, the enroller reads them from the database. */
export const sequenceEnrollmentsPendingSignal = defineSignal('sequenceEnrollmentsPending');

// --- Receipts and notifications ----------------------------------------------------------------

/** A merchant's queued receipts, refund notices and notifications (`message-queue:<merchant id>`). */
export interface MessageQueueInput {
  merchantId: string;
}

export interface MessageQueuePass {
  sent: number;
  moreDue: boolean;
  /** When the earliest queued message is due (ISO), or null when none is. */
  nextDueAt: string | null;
}

/** New messages are queued: no payload, the workflow reads them from the database. */
export const messagesQueuedSignal = defineSignal('messagesQueued');

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
