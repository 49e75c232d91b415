import type { Config } from '../config.js';
import type { Services } from '../services.js';

export type RetentionSettings = Pick<
  Config,
  'EVENT_RETENTION' | 'WEBHOOK_DELIVERY_RETENTION' | 'MESSAGE_BODY_RETENTION' | 'RETENTION_BATCH_SIZE'
>;

export interface RetentionPass {
  webhookDeliveries: number;
  events: number;
  messageBodies: number;
  /** A batch was full: more is due at once. */
  more: boolean;
}

/**
 * One retention pass: at most one batch per table, each a short statement of its own that takes
 * the oldest rows from an index holding only rows that may go, and skips rows another transaction
 * holds. Deliveries go first, so an event whose last delivery went is deleted in the same pass.
 * Financial records (payments, refunds, invoices, credit notes, wallet transactions) are never
 * pruned; messages keep their rows.
 */
export async function pruneOnce(
  services: Pick<Services, 'events' | 'webhooks' | 'messages'>,
  settings: RetentionSettings,
  now = new Date(),
): Promise<RetentionPass> {
  const before = (ms: number) => new Date(now.getTime() - ms);
  const limit = settings.RETENTION_BATCH_SIZE;
  const webhookDeliveries = await services.webhooks.pruneDeliveries(before(settings.WEBHOOK_DELIVERY_RETENTION), limit);
  const events = await services.events.prune(before(settings.EVENT_RETENTION), limit);
  const messageBodies = await services.messages.pruneBodies(before(settings.MESSAGE_BODY_RETENTION), limit);
  return { webhookDeliveries, events, messageBodies, more: [webhookDeliveries, events, messageBodies].some((count) => count >= limit) };
}
