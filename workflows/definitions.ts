// The one place that names the workflows, their ids, search attributes, queries and signals.
// Imported by workflow code and by the client side, so it must stay free of I/O.
import { defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery } from '@temporalio/workflow';

export const SEARCH_ATTRIBUTES = {
  customerId: defineSearchAttributeKey('CustomerId', 'KEYWORD'),
  merchantId: defineSearchAttributeKey('MerchantId', 'KEYWORD'),
} as const;

export const workflowIds = {
  customerDeletion: (customerId: string) => `customer-deletion:${customerId}`,
  webhookEvent: (eventId: string) => `webhook-event:${eventId}`,
} as const;

export type StepState = 'pending' | 'running' | 'completed' | 'failed';

export interface DeletionProgress {
  customerId: string;
  status: 'running' | 'completed' | 'failed';
  steps: { name: string; state: StepState; detail?: string }[];
}

export const deletionProgressQuery = defineQuery<DeletionProgress>('deletionProgress');

export interface CustomerDeletionInput {
  customerId: string;
}

export interface WebhookEventInput {
  eventId: string;
  retry: { initialInterval: string; maximumAttempts: number };
}
