import type { RollupScope } from '../../workflows/definitions.js';
import { Prisma, type Db, type DbTx } from '../db.js';
import type { StatsRollup, StatsRollupBatch } from '../generated/prisma/client.js';
import type { Scope } from '../lib/scope.js';

/**
 * The customers a refresh covers: a keyset range of ids, `(after, upTo]` with null for an open
 * end, optionally within one merchant and environment (the rollup); or a list of ids (the stats
 * subscriber). Deleted customers in the selection lose their rows.
 */
export type CustomerSelection = { ids: string[] } | { after: string | null; upTo: string | null; scope?: Scope };

/** A payment in one of these statuses was paid; what was refunded of it is in `amount_refunded`. */
const PAID_STATUSES = Prisma.sql`('succeeded', 'partially_refunded', 'refunded')`;

/** The selection as a condition on a customer id column, in a form the column's index can serve. */
function customerIdIn(column: string, selection: CustomerSelection): Prisma.Sql {
  const id = Prisma.raw(column);
  if ('ids' in selection) return Prisma.sql`${id} = ANY(${selection.ids}::text[])`;
  const bounds = [
    ...(selection.after === null ? [] : [Prisma.sql`${id} > ${selection.after}`]),
    ...(selection.upTo === null ? [] : [Prisma.sql`${id} <= ${selection.upTo}`]),
  ];
  return bounds.length > 0 ? Prisma.join(bounds, ' AND ') : Prisma.sql`TRUE`;
}

function inScope(alias: string, selection: CustomerSelection): Prisma.Sql {
  if ('ids' in selection || !selection.scope) return Prisma.sql`TRUE`;
  const { merchantId, environment } = selection.scope;
  return Prisma.sql`${Prisma.raw(alias)}.merchant_id = ${merchantId} AND ${Prisma.raw(alias)}.environment = ${environment}::"Environment"`;
}

/**
 * The only writer of `customer_stats` (computed from payments, subscriptions and invoices),
 * `stats_rollups` and `stats_rollup_batches` (the LTV rollup's progress).
 */
export class StatsStore {
  constructor(private readonly db: Db) {}

  /**
   * Recomputes the stats rows of the selected customers from payments, subscriptions and invoices, set-based:
   * one statement upserts the rows that should exist, a second deletes the selection's other rows
   * (a currency no longer paid in, a deleted customer). Re-running it writes the same numbers. Run it
   * inside a transaction, so both statements commit together. Returns how many live customers it
   * covered.
   *
   * Every row written carries the upsert statement's start time as `computed_at`, which is never
   * later than the snapshot the numbers were read from; a row is only overwritten or deleted by a
   * computation that started later than the one that wrote it. So a rollup that read payments just
   * before a payment committed can never undo the fresher row the stats subscriber wrote for that
   * payment meanwhile (the subscriber reads after the payment's event, hence after its commit).
   */
  async refresh(tx: DbTx, selection: CustomerSelection): Promise<number> {
    const [upserted] = await tx.$queryRaw<{ computed_at: string; customers: number }[]>(upsertStatement(selection));
    await tx.$executeRaw`
      DELETE FROM customer_stats gone
      WHERE ${customerIdIn('gone.customer_id', selection)} AND ${inScope('gone', selection)}
        AND gone.computed_at < ${upserted!.computed_at}::timestamptz`;
    return upserted!.customers;
  }

  /**
   * One chunk of a rollup's batch in one transaction: the refresh of `(after, upTo]`, and the
   * batch's cursor advanced to `upTo`. A chunk done twice (by an attempt Temporal already gave up
   * on) writes the same numbers and is counted once. Returns how many live customers it covered.
   */
  async refreshChunk(
    batch: { rollupId: string; startAfter: string },
    chunk: { after: string | null; upTo: string | null; scope?: RollupScope },
  ): Promise<number> {
    const { rollupId, startAfter } = batch;
    return this.db.$transaction(async (tx) => {
      const customers = await this.refresh(tx, chunk);
      await tx.$executeRaw`
        INSERT INTO stats_rollup_batches (rollup_id, start_after, cursor, customers_done, updated_at)
        VALUES (${rollupId}, ${startAfter}, ${chunk.upTo}, ${customers}, now())
        ON CONFLICT (rollup_id, start_after) DO UPDATE SET
          cursor = EXCLUDED.cursor,
          customers_done = stats_rollup_batches.customers_done + EXCLUDED.customers_done,
          updated_at = EXCLUDED.updated_at
        WHERE stats_rollup_batches.cursor IS NOT NULL
          AND (EXCLUDED.cursor IS NULL OR stats_rollup_batches.cursor < EXCLUDED.cursor)`;
      return customers;
    });
  }

  async batch(rollupId: string, startAfter: string): Promise<StatsRollupBatch | null> {
    return this.db.statsRollupBatch.findUnique({ where: { rollupId_startAfter: { rollupId, startAfter } } });
  }

  async customersDone(rollupId: string): Promise<number> {
    const { _sum } = await this.db.statsRollupBatch.aggregate({ where: { rollupId }, _sum: { customersDone: true } });
    return _sum.customersDone ?? 0;
  }

  /**
   * The id of the customer `offset` places after `after` (and no later than `upTo`), in id order,
   * within the scope; null when there are not that many (or, when it must be `followed`, when no
   * customer comes after it).
   */
  async customerIdAt(
    scope: RollupScope | undefined,
    after: string | null,
    upTo: string | null,
    offset: number,
    options: { followed?: boolean } = {},
  ): Promise<string | null> {
    const conditions = [
      ...(scope ? [Prisma.sql`merchant_id = ${scope.merchantId} AND environment = ${scope.environment}::"Environment"`] : []),
      ...(after === null ? [] : [Prisma.sql`id > ${after}`]),
      ...(upTo === null ? [] : [Prisma.sql`id <= ${upTo}`]),
    ];
    const where = conditions.length > 0 ? Prisma.join(conditions, ' AND ') : Prisma.sql`TRUE`;
    const rows = await this.db.$queryRaw<{ id: string }[]>`
      SELECT id FROM customers WHERE ${where} ORDER BY id OFFSET ${offset} LIMIT ${options.followed ? 2 : 1}`;
    return options.followed && rows.length < 2 ? null : (rows[0]?.id ?? null);
  }

  /** Queues the caller on the tenant's rollup lock, held until its transaction ends. */
  async lockTenantRollups(tx: DbTx, scope: Scope): Promise<void> {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`ltv-rollup:${scope.merchantId}:${scope.environment}`}, 0))`;
  }

  /** The tenant's latest rollup recorded as running. */
  async runningRollup(tx: DbTx, scope: Scope): Promise<StatsRollup | null> {
    return tx.statsRollup.findFirst({
      where: { merchantId: scope.merchantId, environment: scope.environment, status: 'running' },
      orderBy: { createdAt: 'desc' },
    });
  }

  async findRollup(scope: Scope, id: string): Promise<StatsRollup | null> {
    return this.db.statsRollup.findFirst({ where: { id, merchantId: scope.merchantId, environment: scope.environment } });
  }

  /**
   * Creates the rollup's row or completes it: the API (after Temporal took the run) and the run's
   * first activity both record it, in either order. `countCustomers`: with the number of live
   * customers in scope.
   */
  async recordRollup(
    rollup: { id: string; scope?: RollupScope; workflowId: string; runId: string; countCustomers?: boolean },
    tx?: DbTx,
  ): Promise<StatsRollup> {
    const db = tx ?? this.db;
    const { scope } = rollup;
    const total = rollup.countCustomers
      ? Prisma.sql`(SELECT count(*)::int FROM customers WHERE deleted_at IS NULL
          AND (${scope?.merchantId ?? null}::text IS NULL OR (merchant_id = ${scope?.merchantId ?? null} AND environment = ${scope?.environment ?? null}::"Environment")))`
      : Prisma.sql`NULL::int`;
    const [row] = await db.$queryRaw<{ id: string }[]>`
      INSERT INTO stats_rollups (id, merchant_id, environment, workflow_id, run_id, customers_total)
      VALUES (${rollup.id}, ${scope?.merchantId ?? null}, ${scope?.environment ?? null}::"Environment", ${rollup.workflowId},
              ${rollup.runId}, ${total})
      ON CONFLICT (workflow_id) DO UPDATE SET
        run_id = coalesce(stats_rollups.run_id, EXCLUDED.run_id),
        customers_total = coalesce(stats_rollups.customers_total, EXCLUDED.customers_total),
        updated_at = now()
      RETURNING id`;
    return db.statsRollup.findUniqueOrThrow({ where: { id: row!.id } });
  }

  /** A rollup still recorded as running is marked failed, with why. */
  async failRunning(tx: DbTx, rollupId: string, reason: string): Promise<void> {
    await tx.statsRollup.updateMany({ where: { id: rollupId, status: 'running' }, data: { status: 'failed', failureReason: reason } });
  }

  async completeRollup(rollupId: string): Promise<void> {
    await this.db.statsRollup.updateMany({
      where: { id: rollupId, status: { not: 'completed' } },
      data: { status: 'completed', completedAt: new Date(), failureReason: null },
    });
  }

  async failRollup(rollupId: string, reason: string): Promise<void> {
    await this.db.statsRollup.update({ where: { id: rollupId }, data: { status: 'failed', failureReason: reason } });
  }
}

/** The aggregate and upsert; returns its `computed_at` exactly (as text: microseconds) and the live customers. */
function upsertStatement(selection: CustomerSelection): Prisma.Sql {
  return Prisma.sql`
    WITH computation AS (SELECT statement_timestamp() AS computed_at),
    live AS (
      SELECT c.id, c.merchant_id, c.environment
      FROM customers c
      WHERE ${customerIdIn('c.id', selection)} AND ${inScope('c', selection)} AND c.deleted_at IS NULL
    ),
    paid AS (
      SELECT p.customer_id, p.currency,
             sum(p.amount - p.amount_refunded) AS total_spent,
             count(*) AS payment_count,
             min(coalesce(p.paid_at, p.created_at)) AS first_payment_at,
             max(coalesce(p.paid_at, p.created_at)) AS last_payment_at
      FROM payments p
      WHERE ${customerIdIn('p.customer_id', selection)} AND p.status IN ${PAID_STATUSES}
      GROUP BY p.customer_id, p.currency
    ),
    subscribed AS (
      -- MRR in twelfths of a minor unit, so yearly plans add up exactly before the one rounding.
      SELECT s.customer_id, s.currency,
             coalesce(sum(s.amount) FILTER (WHERE s.status = 'active' AND s.interval = 'month'), 0) * 12
               + coalesce(sum(s.amount) FILTER (WHERE s.status = 'active' AND s.interval = 'year'), 0) AS mrr_twelfths,
             count(*) FILTER (WHERE s.status = 'active') AS active_subscriptions
      FROM subscriptions s
      WHERE ${customerIdIn('s.customer_id', selection)} AND s.status <> 'pending'
      GROUP BY s.customer_id, s.currency
    ),
    invoiced AS (
      SELECT i.customer_id, i.currency, count(*) AS invoice_count
      FROM invoices i
      WHERE ${customerIdIn('i.customer_id', selection)}
      GROUP BY i.customer_id, i.currency
    ),
    figures AS (
      SELECT customer_id, currency FROM paid
      UNION SELECT customer_id, currency FROM subscribed
      UNION SELECT customer_id, currency FROM invoiced
    ),
    written AS (
      INSERT INTO customer_stats AS stats (customer_id, currency, merchant_id, environment, total_spent, payment_count,
        average_payment, first_payment_at, last_payment_at, mrr, active_subscriptions, subscription_status, invoice_count,
        computed_at)
      SELECT live.id, figures.currency, live.merchant_id, live.environment,
             coalesce(paid.total_spent, 0),
             coalesce(paid.payment_count, 0),
             CASE WHEN paid.payment_count > 0 THEN round(paid.total_spent / paid.payment_count) ELSE 0 END,
             paid.first_payment_at, paid.last_payment_at,
             coalesce(floor((subscribed.mrr_twelfths + 6) / 12), 0),
             coalesce(subscribed.active_subscriptions, 0),
             CASE WHEN subscribed.active_subscriptions > 0 THEN 'active'
                  WHEN subscribed.customer_id IS NOT NULL THEN 'canceled'
                  ELSE 'none' END::"StatsSubscriptionStatus",
             coalesce(invoiced.invoice_count, 0),
             computation.computed_at
      FROM figures
      JOIN live ON live.id = figures.customer_id
      LEFT JOIN paid ON paid.customer_id = figures.customer_id AND paid.currency = figures.currency
      LEFT JOIN subscribed ON subscribed.customer_id = figures.customer_id AND subscribed.currency = figures.currency
      LEFT JOIN invoiced ON invoiced.customer_id = figures.customer_id AND invoiced.currency = figures.currency
      CROSS JOIN computation
      ON CONFLICT (customer_id, currency) DO UPDATE SET
        total_spent = EXCLUDED.total_spent,
        payment_count = EXCLUDED.payment_count,
        average_payment = EXCLUDED.average_payment,
        first_payment_at = EXCLUDED.first_payment_at,
        last_payment_at = EXCLUDED.last_payment_at,
        mrr = EXCLUDED.mrr,
        active_subscriptions = EXCLUDED.active_subscriptions,
        subscription_status = EXCLUDED.subscription_status,
        invoice_count = EXCLUDED.invoice_count,
        computed_at = EXCLUDED.computed_at
      WHERE stats.computed_at <= EXCLUDED.computed_at
    )
    SELECT computation.computed_at::text AS computed_at, (SELECT count(*)::int FROM live) AS customers FROM computation`;
}
