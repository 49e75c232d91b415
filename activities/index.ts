import type { DeletionService } from '../src/deletions/deletion.service';
import type { WebhookService } from '../src/webhooks/webhook.service';

export interface ActivityDeps {
  deletions: Pick<DeletionService, 'complete' | 'fail'>;
  webhooks: Pick<WebhookService, 'planDeliveries' | 'attemptDelivery' | 'markFailed'>;
}

/**
 * Every side effect a workflow may cause. Each activity is safe to run again after a crash or a
 * retry: it checks what is already done before doing it.
 */
export const createActivities = ({ deletions, webhooks }: ActivityDeps) => ({
  async completeCustomerDeletion(customerId: string): Promise<void> {
    await deletions.complete(customerId);
  },
  async failCustomerDeletion(customerId: string, reason: string): Promise<void> {
    await deletions.fail(customerId, reason);
  },
  async planWebhookDeliveries(eventId: string): Promise<string[]> {
    return webhooks.planDeliveries(eventId);
  },
  async attemptWebhookDelivery(deliveryId: string): Promise<void> {
    await webhooks.attemptDelivery(deliveryId);
  },
  async markWebhookDeliveryFailed(deliveryId: string): Promise<void> {
    await webhooks.markFailed(deliveryId);
  },
});

export type Activities = ReturnType<typeof createActivities>;
