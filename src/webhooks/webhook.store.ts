import { Prisma, type Db, type DbTx } from '../db.js';
import type { Environment } from '../generated/prisma/enums.js';
import type { Event, WebhookDelivery, WebhookEndpoint } from '../generated/prisma/client.js';
import { paginate, type ListableModel, type Page, type PaginationQuery } from '../lib/pagination.js';
import type { Scope } from '../lib/scope.js';

/** The id of an endpoint's last successful delivery (`webhook_deliveries_last_success_idx`). */
const lastSuccess = (endpointId: Prisma.Sql) => Prisma.sql`
  SELECT id FROM webhook_deliveries WHERE endpoint_id = ${endpointId} AND status = 'succeeded'
  ORDER BY delivered_at DESC NULLS LAST, id DESC LIMIT 1`;

/** A due delivery claimed for one pass, with the event it carries. */
export interface ClaimedDelivery {
  id: string;
  attempts: number;
  event_id: string;
  type: string;
  environment: Environment;
  created_at: Date;
  data: Prisma.JsonValue;
}

/** What a pass records of one claimed delivery; `done: false` releases it untouched. */
export interface DeliveryRecord {
  id: string;
  status: string;
  attempts: number;
  code: number | null;
  error: string | null;
  next: string | null;
  done: boolean;
}

export type DeliveryRow = WebhookDelivery & { event: Pick<Event, 'type'> };

/** An endpoint as delivery planning needs it. */
export type PlannedEndpoint = Pick<WebhookEndpoint, 'id' | 'merchantId' | 'environment' | 'enabledEvents' | 'enabledAt'>;

/** The only writer of `webhook_endpoints` and `webhook_deliveries`. */
export class WebhookStore {
  constructor(private readonly db: Db) {}

  async createEndpoint(tx: DbTx, data: Prisma.WebhookEndpointUncheckedCreateInput): Promise<WebhookEndpoint> {
    return tx.webhookEndpoint.create({ data });
  }

  async updateEndpoint(tx: DbTx, id: string, data: Prisma.WebhookEndpointUpdateInput): Promise<WebhookEndpoint> {
    return tx.webhookEndpoint.update({ where: { id }, data });
  }

  /** The endpoint of the scope (deleted ones only when asked), its row locked first when `forUpdate`. */
  async findEndpoint(
    scope: Scope,
    id: string,
    options: { forUpdate?: boolean; includeDeleted?: boolean } = {},
    tx?: DbTx,
  ): Promise<WebhookEndpoint | null> {
    const db = tx ?? this.db;
    if (options.forUpdate) await db.$executeRaw`SELECT 1 FROM webhook_endpoints WHERE id = ${id} FOR UPDATE`;
    return db.webhookEndpoint.findFirst({
      where: { id, merchantId: scope.merchantId, environment: scope.environment, ...(!options.includeDeleted && { deletedAt: null }) },
    });
  }

  async endpointById(id: string): Promise<WebhookEndpoint | null> {
    return this.db.webhookEndpoint.findUnique({ where: { id } });
  }

  async endpointState(id: string): Promise<Pick<WebhookEndpoint, 'status' | 'deletedAt'> | null> {
    return this.db.webhookEndpoint.findUnique({ where: { id }, select: { status: true, deletedAt: true } });
  }

  async listEndpoints<Out>(scope: Scope, query: PaginationQuery, serialize: (row: WebhookEndpoint) => Out): Promise<Page<Out>> {
    const where = { merchantId: scope.merchantId, environment: scope.environment, deletedAt: null };
    return paginate(this.db.webhookEndpoint, where, query, serialize);
  }

  async listDeliveries<Out>(endpointId: string, query: PaginationQuery, serialize: (row: DeliveryRow) => Out): Promise<Page<Out>> {
    const { db } = this;
    const deliveries = {
      count: db.webhookDelivery.count.bind(db.webhookDelivery),
      findMany: (args: Parameters<ListableModel<Prisma.WebhookDeliveryWhereInput, never>['findMany']>[0]) =>
        db.webhookDelivery.findMany({ ...args, include: { event: { select: { type: true } } } }),
    };
    return paginate(deliveries, { endpointId }, query, serialize);
  }

  /** Previous secrets past their overlap are dropped. */
  async dropExpiredPreviousSecrets(): Promise<void> {
    await this.db.webhookEndpoint.updateMany({
      where: { previousSecretExpiresAt: { lt: new Date() } },
      data: { previousSecret: null, previousSecretExpiresAt: null },
    });
  }

  /** Endpoints with a secret not encrypted under the key whose prefix is `currentPrefix`. */
  async staleSecrets(currentPrefix: string, limit: number): Promise<Pick<WebhookEndpoint, 'id' | 'secret' | 'previousSecret'>[]> {
    return this.db.webhookEndpoint.findMany({
      where: {
        OR: [
          { NOT: { secret: { startsWith: currentPrefix } } },
          { AND: [{ previousSecret: { not: null } }, { NOT: { previousSecret: { startsWith: currentPrefix } } }] },
        ],
      },
      select: { id: true, secret: true, previousSecret: true },
      take: limit,
    });
  }

  /** Replaces the secrets of an endpoint whose secret is still `secret` (a concurrent rotation wins). */
  async replaceSecrets(id: string, secret: string, data: { secret: string; previousSecret?: string }): Promise<void> {
    await this.db.webhookEndpoint.updateMany({ where: { id, secret }, data });
  }

  /** The enabled endpoints of these merchants' environments. */
  async enabledEndpoints(tx: DbTx, tenants: Pick<Scope, 'merchantId' | 'environment'>[]): Promise<PlannedEndpoint[]> {
    return tx.webhookEndpoint.findMany({
      where: {
        deletedAt: null,
        status: 'enabled',
        OR: tenants.map((tenant) => ({ merchantId: tenant.merchantId, environment: tenant.environment })),
      },
      select: { id: true, merchantId: true, environment: true, enabledEvents: true, enabledAt: true },
    });
  }

  /** New pending deliveries; one that exists for its endpoint and event already is skipped. */
  async addDeliveries(tx: DbTx, rows: { id: string; endpointId: string; eventId: string }[]): Promise<void> {
    await tx.webhookDelivery.createMany({ data: rows, skipDuplicates: true });
  }

  async cancelPending(endpointId: string, reason: string, tx?: DbTx): Promise<void> {
    await (tx ?? this.db).webhookDelivery.updateMany({
      where: { endpointId, status: 'pending' },
      data: { status: 'cancelled', lastError: reason, lockedUntil: null },
    });
  }

  /** Endpoints with pending deliveries overdue by `overdueByMs` that no sender holds. */
  async overdueEndpoints(overdueByMs: number): Promise<{ id: string; merchantId: string }[]> {
    return this.db.$queryRaw<{ id: string; merchantId: string }[]>`
      SELECT DISTINCT e.id, e.merchant_id AS "merchantId"
      FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
      WHERE d.status = 'pending' AND d.next_attempt_at < ${new Date(Date.now() - overdueByMs)}
        AND (d.locked_until IS NULL OR d.locked_until < now())`;
  }

  /**
   * Deletes up to `limit` of the oldest finished deliveries (succeeded, failed, cancelled) created
   * before `cutoff`, except each endpoint's last successful one. Pending deliveries always stay.
   */
  async pruneDeliveries(cutoff: Date, limit: number): Promise<number> {
    return this.db.$executeRaw`
      DELETE FROM webhook_deliveries WHERE id = ANY(ARRAY(
        SELECT d.id FROM webhook_deliveries d
        WHERE d.status <> 'pending' AND d.created_at < ${cutoff}
          AND (d.status <> 'succeeded' OR d.id <> (${lastSuccess(Prisma.sql`d.endpoint_id`)}))
        ORDER BY d.created_at
        LIMIT ${limit}
        FOR UPDATE OF d SKIP LOCKED))`;
  }

  /** Claims up to `limit` of the endpoint's due deliveries that no other sender holds, until `lockedUntil`. */
  async claimDue(endpointId: string, limit: number, lockedUntil: Date): Promise<ClaimedDelivery[]> {
    return this.db.$queryRaw<ClaimedDelivery[]>`
      UPDATE webhook_deliveries d SET locked_until = ${lockedUntil}
      FROM events e
      WHERE e.id = d.event_id AND d.id IN (
        SELECT id FROM webhook_deliveries
        WHERE endpoint_id = ${endpointId} AND status = 'pending' AND next_attempt_at <= now()
          AND (locked_until IS NULL OR locked_until < now())
        ORDER BY next_attempt_at, id
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED)
      RETURNING d.id, d.attempts, e.id AS event_id, e.type, e.environment, e.created_at, e.data`;
  }

  /** Every record of a pass in one statement, releasing the claims; deliveries no longer pending are left alone. */
  async recordAttempts(rows: DeliveryRecord[]): Promise<void> {
    await this.db.$executeRaw`
      UPDATE webhook_deliveries d SET
        status = u.status::"WebhookDeliveryStatus",
        attempts = u.attempts,
        last_status_code = CASE WHEN u.done THEN u.code ELSE d.last_status_code END,
        last_error = CASE WHEN u.done THEN u.error ELSE d.last_error END,
        next_attempt_at = coalesce(u.next, d.next_attempt_at),
        delivered_at = CASE WHEN u.status = 'succeeded' THEN now() ELSE d.delivered_at END,
        locked_until = NULL,
        updated_at = now()
      FROM (
        SELECT * FROM unnest(
          ${rows.map((r) => r.id)}::text[], ${rows.map((r) => r.status)}::text[], ${rows.map((r) => r.attempts)}::int[],
          ${rows.map((r) => r.code)}::int[], ${rows.map((r) => r.error)}::text[], ${rows.map((r) => r.next)}::timestamptz[],
          ${rows.map((r) => r.done)}::boolean[]
        ) AS t(id, status, attempts, code, error, next, done)
      ) u
      WHERE d.id = u.id AND d.status = 'pending'`;
  }

  /** When the endpoint's earliest pending delivery is due (or its claim ends); null when none is pending. */
  async nextDueAt(endpointId: string): Promise<Date | null> {
    const [next] = await this.db.$queryRaw<{ due: Date | null }[]>`
      SELECT min(greatest(next_attempt_at, coalesce(locked_until, next_attempt_at))) AS due
      FROM webhook_deliveries WHERE endpoint_id = ${endpointId} AND status = 'pending'`;
    return next?.due ?? null;
  }

  async lastSuccessfulDeliveryId(endpointId: string): Promise<string | null> {
    const [last] = await this.db.$queryRaw<{ id: string }[]>(lastSuccess(Prisma.sql`${endpointId}`));
    return last?.id ?? null;
  }
}
