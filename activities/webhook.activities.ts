import { Context } from '@temporalio/activity';
import { WebhookSteps, type DeliveryPass, type WebhookStepsDeps } from '../src/webhooks/webhook.steps.js';
import type { WebhookStore } from '../src/webhooks/webhook.store.js';
import { asActivity } from './failures.js';

export interface WebhookActivityDeps {
  stores: { webhooks: WebhookStore };
  /** How deliveries are sent: deadlines, retries, signing, and who hears of a failing endpoint. */
  webhookDelivery: Omit<WebhookStepsDeps, 'store'>;
}

export const createWebhookActivities = ({ stores, webhookDelivery }: WebhookActivityDeps) => {
  const steps = new WebhookSteps({ store: stores.webhooks, ...webhookDelivery });
  return {
    /** One delivery pass for an endpoint; heartbeats after each attempt and stops on cancellation. */
    async deliverDueWebhooks(endpointId: string): Promise<DeliveryPass> {
      const context = Context.current();
      return asActivity(() =>
        steps.deliverDue(endpointId, { signal: context.cancellationSignal, heartbeat: () => context.heartbeat() }),
      );
    },
  };
};
