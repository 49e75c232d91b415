import { Prisma, type DbTx } from '../db.js';
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
export async function refreshStats(tx: DbTx, selection: CustomerSelection): Promise<number> {
  const [upserted] = await tx.$queryRaw<{ computed_at: string; customers: number }[]>(upsertStatement(selection));
  await tx.$executeRaw`
    DELETE FROM customer_stats gone
    WHERE ${customerIdIn('gone.customer_id', selection)} AND ${inScope('gone', selection)}
      AND gone.computed_at < ${upserted!.computed_at}::timestamptz`;
  return upserted!.customers;
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
