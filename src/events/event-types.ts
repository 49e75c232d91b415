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
] as const;
export type EventType = (typeof EVENT_TYPES)[number];
