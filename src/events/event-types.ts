/**
 * Every event the service emits. Each is recorded in the outbox in the same transaction as the
 * change it describes; webhook endpoints subscribe to them by name.
 */
export const EVENT_TYPES = [
  'customer.created',
  'customer.updated',
  'customer.deleted',
  'customer.tag_added',
  'customer.tag_removed',
  'customer.unsubscribed',
  'customer.resubscribed',
  'customer.deletion_action_required',
  'payment.created',
  'payment.succeeded',
  'payment.failed',
  'payment.refunded',
  'payment.partially_refunded',
  'subscription.created',
  'subscription.terminated',
  'subscription.canceled',
  'invoice.created',
  'invoice.finalized',
  'invoice.voided',
  'credit_note.created',
  'wallet.created',
  'wallet.terminated',
  'wallet_transaction.created',
  'applied_coupon.created',
  'applied_coupon.terminated',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];
