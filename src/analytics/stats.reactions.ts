import type { BusEvent, EventSubscriber } from '../events/event-bus.js';
import type { StatsStore } from './stats.store.js';

/** What changes a customer's stats: its payments and subscriptions, a new invoice, and its deletion. */
const wanted = (event: BusEvent) =>
  event.customerId !== null &&
  (event.type.startsWith('payment.') ||
    event.type.startsWith('subscription.') ||
    event.type === 'invoice.created' ||
    event.type === 'customer.deleted');

/**
 * Keeps `customer_stats` fresh between nightly rollups: the customers of a relay batch's payment,
 * subscription, invoice creation and deletion events are recomputed in one set-based refresh, in the relay's
 * transaction. No Temporal involved.
 */
export function statsReactions(store: StatsStore): EventSubscriber {
  return {
    name: 'stats',
    wants: wanted,
    async handle(tx, events) {
      const customerIds = [...new Set(events.map((event) => event.customerId!))];
      if (customerIds.length > 0) await store.refresh(tx, { ids: customerIds });
    },
  };
}
