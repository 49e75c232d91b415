import { ActivityFailure, proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { WebhookEventInput } from './definitions';

type Activities = ReturnType<typeof createActivities>;

const { planWebhookDeliveries, markWebhookDeliveryFailed } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
});

/**
 * Delivers one event to every endpoint subscribed to it. Each endpoint is retried on its own with
 * exponential backoff; one that never answers 2xx ends `failed` without holding up the others.
 */
export async function webhookEventWorkflow(input: WebhookEventInput): Promise<Record<string, string>> {
  const { attemptWebhookDelivery } = proxyActivities<Activities>({
    startToCloseTimeout: '1 minute',
    retry: {
      initialInterval: input.retry.initialInterval,
      backoffCoefficient: 2,
      maximumInterval: '1 hour',
      maximumAttempts: input.retry.maximumAttempts,
    },
  });

  const deliveryIds = await planWebhookDeliveries(input.eventId);
  const outcomes = await Promise.all(
    deliveryIds.map(async (deliveryId) => {
      try {
        await attemptWebhookDelivery(deliveryId);
        return [deliveryId, 'succeeded'] as const;
      } catch (error) {
        if (!(error instanceof ActivityFailure)) throw error;
        await markWebhookDeliveryFailed(deliveryId);
        return [deliveryId, 'failed'] as const;
      }
    }),
  );
  return Object.fromEntries(outcomes);
}
