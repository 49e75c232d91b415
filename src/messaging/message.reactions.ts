import type { DbTx, Prisma } from '../db.js';
import type { BusEvent, EventSubscriber } from '../events/event-bus.js';
import type { MessageQueueService } from './message-queue.service.js';
import type { MessageStore, QueuedMessage } from './message.store.js';
import type { NotificationData, PaymentSnapshot, RefundSnapshot } from './transactional.js';

const RELEVANT = new Set(['payment.succeeded', 'payment.refunded', 'payment.partially_refunded', 'customer.deletion_action_required']);

type Planned = Pick<QueuedMessage, 'kind' | 'idempotencyKey' | 'customerId'> & { data: object };

/**
 * Queues receipts, refund notices and merchant notifications in the relay's transaction (unique
 * keys make a re-delivered event queue nothing), then wakes each merchant's queue once per batch.
 */
export function messageReactions(deps: { store: MessageStore; queue: Pick<MessageQueueService, 'nudge'> }): EventSubscriber {
  return {
    name: 'messages',
    wants: (event) => RELEVANT.has(event.type),
    async handle(tx, events) {
      const merchants = await queueFromEvents(deps.store, tx, events);
      if (merchants.length > 0) return () => deps.queue.nudge(merchants);
    },
  };
}

/** The messages a batch of events calls for, queued; the merchants whose queues have them. */
async function queueFromEvents(store: MessageStore, tx: DbTx, events: BusEvent[]): Promise<string[]> {
  const rows: QueuedMessage[] = events.flatMap((event) =>
    messagesFor(event).map((row) => ({ ...row, data: row.data as Prisma.InputJsonObject, merchantId: event.merchantId, environment: event.environment })),
  );
  if (rows.length === 0) return [];
  await store.queue(rows, tx);
  return [...new Set(rows.map((row) => row.merchantId))];
}

function messagesFor(event: BusEvent): Planned[] {
  const object = event.data.object as unknown as PaymentSnapshot & { customer_id?: string | null };
  switch (event.type) {
    case 'payment.succeeded':
      return object.customer_id ? [{ kind: 'receipt', idempotencyKey: `receipt:${object.id}`, customerId: object.customer_id, data: { payment: object } }] : [];
    case 'payment.refunded':
    case 'payment.partially_refunded': {
      const refund = event.data.refund as RefundSnapshot | undefined;
      if (!object.customer_id || !refund?.id) return [];
      return [{ kind: 'refund_notice', idempotencyKey: `refund-notice:${refund.id}`, customerId: object.customer_id, data: { payment: object, refund } }];
    }
    case 'customer.deletion_action_required': {
      const data: NotificationData = {
        type: 'deletion_action_required',
        environment: event.environment,
        customer_id: event.customerId ?? String((event.data.object as { customer_id?: string }).customer_id),
        step: String(event.data.step),
        reason: String(event.data.reason),
      };
      return [{ kind: 'notification', idempotencyKey: `notification:${event.id}`, customerId: null, data }];
    }
    default:
      return [];
  }
}
