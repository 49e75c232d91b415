import { createAnalyticsActivities, type AnalyticsActivityDeps } from './analytics.activities.js';
import { createBillingActivities, type BillingActivityDeps } from './billing.activities.js';
import { createDeletionActivities, type DeletionActivityDeps } from './deletion.activities.js';
import { createMessageActivities, type MessageActivityDeps } from './message.activities.js';
import { createSequenceActivities, type SequenceActivityDeps } from './sequence.activities.js';
import { createWebhookActivities, type WebhookActivityDeps } from './webhook.activities.js';

export type ActivityDeps = DeletionActivityDeps &
  WebhookActivityDeps &
  BillingActivityDeps &
  SequenceActivityDeps &
  MessageActivityDeps &
  AnalyticsActivityDeps;

/**
 * Every side effect a workflow may cause, one file per domain. Each activity is safe to run again
 * after a crash or a retry: it checks what is already done before doing it.
 */
export const createActivities = (deps: ActivityDeps) => ({
  ...createDeletionActivities(deps),
  ...createWebhookActivities(deps),
  ...createBillingActivities(deps),
  ...createSequenceActivities(deps),
  ...createMessageActivities(deps),
  ...createAnalyticsActivities(deps),
});

export type Activities = ReturnType<typeof createActivities>;
