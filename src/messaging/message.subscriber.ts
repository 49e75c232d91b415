import type { EventSubscriber } from '../events/event-bus.js';
import type { MessageQueueService } from './message-queue.service.js';

const RELEVANT = new Set(['payment.succeeded', 'payment.refunded', 'payment.partially_refunded', 'customer.deletion_action_required']);

/**
 * Queues receipts, refund notices and merchant notifications in the relay's transaction (unique
 * keys make a re-delivered event queue nothing), then wakes each merchant's queue once per batch.
 */
export function messageSubscriber(queue: MessageQueueService): EventSubscriber {
  return {
    name: 'messages',
    wants: (event) => RELEVANT.has(event.type),
    async handle(tx, events) {
      const merchants = await queue.planFromEvents(tx, events);
      if (merchants.length > 0) return () => queue.nudge(merchants);
    },
  };
}
