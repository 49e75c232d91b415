import type { Db, DbTx, Prisma } from '../db.js';
import type { Event } from '../generated/prisma/client.js';
import type { Environment } from '../generated/prisma/enums.js';
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

// --- After recording: the relay's failures, replays and retention. This module writes `events`. --

export interface FailedHandOver {
  id: string;
  merchant_id: string;
  environment: Environment;
  type: string;
  dispatch_attempts: number;
  parked_at: Date | null;
}

/** Counts one failed hand-over of an undispatched event; the one reaching `maxAttempts` parks it. */
export async function countFailedHandOver(db: Db | DbTx, id: string, error: string, maxAttempts: number): Promise<FailedHandOver | undefined> {
  const [row] = await db.$queryRaw<FailedHandOver[]>`
    UPDATE events SET dispatch_attempts = dispatch_attempts + 1, dispatch_error = ${error},
      parked_at = CASE WHEN dispatch_attempts + 1 >= ${maxAttempts} THEN coalesce(parked_at, now()) ELSE parked_at END
    WHERE id = ${id} AND dispatched_at IS NULL
    RETURNING id, merchant_id, environment, type, dispatch_attempts, parked_at`;
  return row;
}

/** A parked event waits for a replay; an undispatched one in flight is never one. */
export const PARKED = { parkedAt: { not: null }, dispatchedAt: null } satisfies Prisma.EventWhereInput;

/** Puts the parked events matching `filter` back in the relay's queue, their attempts cleared. */
export async function releaseParked(tx: DbTx, filter: Prisma.EventWhereInput): Promise<Event[]> {
  return tx.event.updateManyAndReturn({
    where: { ...PARKED, ...filter },
    data: { parkedAt: null, dispatchAttempts: 0, dispatchError: null },
  });
}

/**
 * Retention: deletes up to `limit` of the oldest dispatched events created before `cutoff` that no
 * webhook delivery refers to (a delivery sends its event's data; pruned deliveries go first). Rows
 * another transaction holds are skipped, not waited for.
 */
export async function pruneEvents(db: Db, cutoff: Date, limit: number): Promise<number> {
  return db.$executeRaw`
    DELETE FROM events WHERE id = ANY(ARRAY(
      SELECT e.id FROM events e
      WHERE e.dispatched_at IS NOT NULL AND e.created_at < ${cutoff}
        AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id)
      ORDER BY e.created_at
      LIMIT ${limit}
      FOR UPDATE OF e SKIP LOCKED))`;
}
