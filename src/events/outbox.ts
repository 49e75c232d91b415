import type { Db, DbTx, Prisma } from '../db.js';
import type { Event } from '../generated/prisma/client.js';
import type { Environment } from '../generated/prisma/enums.js';
import { newId } from '../lib/ids.js';
import { paginate, type Page, type PaginationQuery } from '../lib/pagination.js';
import { redactCustomer } from '../lib/personal-data.js';
import type { Scope } from '../lib/scope.js';
import type { BusEvent } from './event-bus.js';
import type { EventType } from './event-types.js';

// The events table's store: recording (alone or inside another table's statement), the relay's
// claims and marks, failures, replays, retention and erasure. No other module writes `events`.

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

/**
 * The `INSERT INTO events` of a statement that records events together with the change they
 * describe (a CTE): it inserts the rows of `eventRows` passed as the jsonb parameter `parameter`
 * (`$2`) for which `condition` holds (`e.customer_id IN (SELECT id FROM inserted)`).
 */
export function insertEventsSql(parameter: string, condition: string): string {
  return `INSERT INTO events (id, merchant_id, environment, type, customer_id, data, created_at)
    SELECT e.id, e.merchant_id, e.environment::"Environment", e.type, e.customer_id, e.data, e.created_at
    FROM jsonb_to_recordset(${parameter}::jsonb) AS e(id text, merchant_id text, environment text, type text, customer_id text, data jsonb, created_at timestamptz)
    WHERE ${condition}`;
}

/** The rows `insertEventsSql` reads (as JSON): the events of a change made at `at`. */
export function eventRows(scope: Scope, events: NewEvent[], at: Date): Record<string, unknown>[] {
  return events.map((event) => ({
    id: newId('event'),
    merchant_id: scope.merchantId,
    environment: scope.environment,
    type: event.type,
    customer_id: event.customerId ?? null,
    data: { object: event.object, ...event.extra },
    created_at: at,
  }));
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

// --- After recording: the relay's claims and marks, its failures, replays and retention. ---------

interface EventRow {
  id: string;
  merchant_id: string;
  environment: Environment;
  type: string;
  customer_id: string | null;
  data: BusEvent['data'];
  created_at: Date;
}

/**
 * Claims a batch fairly: each merchant's oldest events first, merchants taking turns (the n-th
 * event of every merchant before the (n+1)-th of any), so a merchant writing ten thousand events
 * never puts another's behind its backlog. Each merchant's own events keep their order. Rows
 * another relay holds are skipped; `onlyId` claims that one event (if it is still undispatched).
 */
export async function claimEvents(tx: DbTx, limit: number, maxAttempts: number, onlyId?: string): Promise<BusEvent[]> {
  const rows = await tx.$queryRaw<EventRow[]>`
    WITH ranked AS (
      SELECT id, row_number() OVER (PARTITION BY merchant_id ORDER BY id) AS turn
      FROM events
      WHERE dispatched_at IS NULL AND dispatch_attempts < ${maxAttempts}
        AND (${onlyId ?? null}::text IS NULL OR id = ${onlyId ?? null})
    ), chosen AS (
      SELECT id, turn FROM ranked ORDER BY turn, id LIMIT ${limit * 2}
    )
    SELECT e.id, e.merchant_id, e.environment, e.type, e.customer_id, e.data, e.created_at
    FROM events e JOIN chosen c ON c.id = e.id
    WHERE e.dispatched_at IS NULL
    ORDER BY c.turn, e.id
    LIMIT ${limit}
    FOR UPDATE OF e SKIP LOCKED`;
  return rows.map((row) => ({
    id: row.id,
    merchantId: row.merchant_id,
    environment: row.environment,
    type: row.type,
    customerId: row.customer_id,
    data: row.data,
    createdAt: row.created_at,
  }));
}

/** Marks claimed events handed over, in the transaction of their subscribers' writes. */
export async function markDispatched(tx: DbTx, ids: string[]): Promise<void> {
  await tx.event.updateMany({ where: { id: { in: ids } }, data: { dispatchedAt: new Date() } });
}

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

/** One page of a tenant's parked events, newest first. */
export async function parkedPage<Out>(db: Db, scope: Scope, query: PaginationQuery, serialize: (event: Event) => Out): Promise<Page<Out>> {
  const where = { merchantId: scope.merchantId, environment: scope.environment, ...PARKED };
  return paginate(db.event, where, query, serialize);
}

/** Parked events, oldest first, of one merchant or of all. */
export async function parkedEvents(db: Db, filter: { merchantId?: string; limit: number }): Promise<Event[]> {
  return db.event.findMany({
    where: { ...PARKED, ...(filter.merchantId && { merchantId: filter.merchantId }) },
    orderBy: { id: 'asc' },
    take: filter.limit,
  });
}

/** The ids of a tenant's oldest parked events, `limit` at most. */
export async function oldestParkedIds(tx: DbTx, scope: Scope, limit: number): Promise<string[]> {
  const tenant = { merchantId: scope.merchantId, environment: scope.environment, ...PARKED };
  const oldest = await tx.event.findMany({ where: tenant, orderBy: { id: 'asc' }, take: limit, select: { id: true } });
  return oldest.map((event) => event.id);
}

/** Whether a tenant's event exists, and if so whether it was dispatched. */
export async function dispatchStateOf(tx: DbTx, scope: Scope, id: string): Promise<{ dispatchedAt: Date | null } | null> {
  return tx.event.findFirst({ where: { id, merchantId: scope.merchantId, environment: scope.environment }, select: { dispatchedAt: true } });
}

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

/**
 * Erasure: the customer's events keep their ids, types, amounts and object ids, but no personal
 * field, rewritten in one statement. Webhook deliveries hold no copy (a delivery sends its event's
 * current data), so a delivery still pending sends the erased payload. Returns how many changed.
 */
export async function eraseCustomerFromEvents(tx: DbTx, customerId: string): Promise<number> {
  const events = await tx.event.findMany({ where: { customerId }, select: { id: true, data: true } });
  const changed = events.flatMap(({ id, data }) => {
    const redacted = redactCustomer(data, customerId);
    return redacted.changed ? [{ id, json: redacted.value }] : [];
  });
  if (changed.length === 0) return 0;
  await tx.$executeRawUnsafe(
    `UPDATE events t SET data = u.json FROM jsonb_to_recordset($1::jsonb) AS u(id text, json jsonb) WHERE t.id = u.id`,
    JSON.stringify(changed),
  );
  return changed.length;
}
