import type { EventSubscriber } from '../events/event-bus.js';
import type { WebhookService } from './webhook.service.js';

/**
 * Every event may concern an endpoint, so this subscriber wants them all; it costs one query per
 * relay batch to find the subscribed endpoints, and a merchant without endpoints costs nothing in
 * Temporal. After the commit, each endpoint that got deliveries is nudged once per batch.
 */
export function webhookSubscriber(webhooks: WebhookService): EventSubscriber {
  return {
    name: 'webhooks',
    wants: () => true,
    async handle(tx, events) {
      const endpoints = await webhooks.planDeliveries(tx, events);
      if (endpoints.length > 0) return () => webhooks.nudge(endpoints);
    },
  };
}
