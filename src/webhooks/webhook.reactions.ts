import type { DbTx } from '../db.js';
import type { BusEvent, EventSubscriber } from '../events/event-bus.js';
import { newId } from '../lib/ids.js';
import type { WebhookService } from './webhook.service.js';
import type { WebhookStore } from './webhook.store.js';

export interface WebhookReactionDeps {
  store: WebhookStore;
  webhooks: Pick<WebhookService, 'nudge'>;
}

/**
 * Every event may concern an endpoint, so this subscriber wants them all; it costs one query per
 * relay batch to find the subscribed endpoints, and a merchant without endpoints costs nothing in
 * Temporal. After the commit, each endpoint that got deliveries is nudged once per batch.
 */
export function webhookReactions({ store, webhooks }: WebhookReactionDeps): EventSubscriber {
  return {
    name: 'webhooks',
    wants: () => true,
    async handle(tx, events) {
      const endpoints = await planDeliveries(store, tx, events);
      if (endpoints.length > 0) return () => webhooks.nudge(endpoints);
    },
  };
}

/**
 * Inside the relay's transaction: one delivery row per enabled endpoint that subscribes to each
 * event created since it was enabled (a row exists at most once per endpoint and event). Returns
 * the endpoints that got new work, to nudge after the commit.
 */
async function planDeliveries(store: WebhookStore, tx: DbTx, events: BusEvent[]): Promise<{ id: string; merchantId: string }[]> {
  const tenants = [...new Map(events.map((e) => [`${e.merchantId}:${e.environment}`, e])).values()];
  const endpoints = await store.enabledEndpoints(tx, tenants);
  if (endpoints.length === 0) return [];
  const rows = events.flatMap((event) =>
    endpoints
      .filter(
        (endpoint) =>
          endpoint.merchantId === event.merchantId &&
          endpoint.environment === event.environment &&
          // Only events created while the endpoint was enabled, even when relayed later.
          event.createdAt >= endpoint.enabledAt &&
          (endpoint.enabledEvents.includes('*') || endpoint.enabledEvents.includes(event.type)),
      )
      .map((endpoint) => ({ id: newId('webhookDelivery'), endpointId: endpoint.id, eventId: event.id })),
  );
  if (rows.length === 0) return [];
  await store.addDeliveries(tx, rows);
  const touched = new Set(rows.map((row) => row.endpointId));
  return endpoints.filter((endpoint) => touched.has(endpoint.id)).map(({ id, merchantId }) => ({ id, merchantId }));
}
