import type { DbTx, Prisma } from '../db.js';
import { newId } from '../lib/ids.js';
import type { Scope } from '../lib/scope.js';
import type { EventType } from './event-types.js';

export interface NewEvent {
  type: EventType;
  /** The API representation of the object at the moment of the change. */
  object: { id: string; [field: string]: unknown };
  /** The customer the event concerns, if any; subscribers filter on it without parsing `data`. */
  customerId?: string | null;
  /** Fields beside `object` in the event's data, e.g. the tag of `customer.tag_added`. */
  extra?: Record<string, unknown>;
}

/**
 * Writes events to the outbox inside the caller's transaction, so an event exists exactly when the
 * change it describes was committed. The relay hands them to the event bus after the commit.
 */
export async function recordEvents(tx: DbTx, scope: Scope, events: NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  await tx.event.createMany({
    data: events.map((event) => ({
      id: newId('event'),
      merchantId: scope.merchantId,
      environment: scope.environment,
      type: event.type,
      customerId: event.customerId ?? null,
      data: { object: event.object, ...event.extra } as Prisma.InputJsonObject,
    })),
  });
}

/** Records events of objects that may belong to several tenants: one outbox write per tenant. */
export async function recordByTenant(tx: DbTx, items: { scope: Scope; event: NewEvent }[]): Promise<void> {
  const byTenant = new Map<string, { scope: Scope; events: NewEvent[] }>();
  for (const { scope, event } of items) {
    const key = `${scope.merchantId}:${scope.environment}`;
    const group = byTenant.get(key) ?? { scope, events: [] };
    group.events.push(event);
    byTenant.set(key, group);
  }
  for (const { scope, events } of byTenant.values()) await recordEvents(tx, scope, events);
}

/** One `customer.tag_added` / `customer.tag_removed` event per tag that changed. */
export function tagEvents(
  previous: readonly string[],
  next: readonly string[],
  object: NewEvent['object'],
): NewEvent[] {
  const before = new Set(previous);
  const after = new Set(next);
  return [
    ...[...after].filter((tag) => !before.has(tag)).map((tag) => ({ type: 'customer.tag_added' as const, tag })),
    ...[...before].filter((tag) => !after.has(tag)).map((tag) => ({ type: 'customer.tag_removed' as const, tag })),
  ].map(({ type, tag }) => ({ type, object, customerId: object.id, extra: { tag } }));
}
