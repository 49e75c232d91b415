import { Context } from '@temporalio/activity';
import type { DeliveryPass, WebhookService } from '../src/webhooks/webhook.service.js';
import { asActivity } from './failures.js';

export interface WebhookActivityDeps {
  webhooks: Pick<WebhookService, 'deliverDue'>;
}

export const createWebhookActivities = ({ webhooks }: WebhookActivityDeps) => ({
  /** One delivery pass for an endpoint; heartbeats after each attempt and stops on cancellation. */
  async deliverDueWebhooks(endpointId: string): Promise<DeliveryPass> {
    const context = Context.current();
    return asActivity(() =>
      webhooks.deliverDue(endpointId, { signal: context.cancellationSignal, heartbeat: () => context.heartbeat() }),
    );
  },
});
