import type { Db, DbTx } from '../db.js';
import type { Scope } from '../lib/scope.js';

// What the billing stores share: the row locks every billing table is changed under, and the one
// read across the billing tables. Each resource's store calls these for its own table.

export type BillingTable = 'payments' | 'subscriptions' | 'invoices' | 'credit_notes' | 'wallets' | 'applied_coupons';

/**
 * Locks rows of a tenant for update, in id order (so two writers never deadlock on the same
 * rows), and returns the ids found; another tenant's id is simply not found.
 */
export async function lockForUpdate(tx: DbTx, table: BillingTable, scope: Scope, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await tx.$queryRawUnsafe<{ id: string }[]>(
    `SELECT id FROM ${table} WHERE id = ANY($1) AND merchant_id = $2 AND environment = $3::"Environment" ORDER BY id FOR UPDATE`,
    ids,
    scope.merchantId,
    scope.environment,
  );
  return rows.map((row) => row.id);
}

/**
 * Locks up to `limit` rows of a customer in the given statuses (oldest first), for the deletion
 * saga's set-based steps; returns their ids. A row changed meanwhile by a concurrent write is
 * re-checked after the wait and left out when its status no longer matches.
 */
export async function lockCustomerRows(
  tx: DbTx,
  table: BillingTable,
  customerId: string,
  statuses: string[],
  limit: number,
): Promise<string[]> {
  const rows = await tx.$queryRawUnsafe<{ id: string }[]>(
    `SELECT id FROM ${table} WHERE customer_id = $1 AND status::text = ANY($2) ORDER BY id LIMIT $3 FOR UPDATE`,
    customerId,
    statuses,
    limit,
  );
  return rows.map((row) => row.id);
}

/**
 * The one answer to "does this customer hold a billing object?", which pins its external_id and
 * currency (Lago's rule: plans, coupons, one-off invoices, wallets and credits). Set-based, so a
 * batch of customers costs one query. Each billing table that pins a customer is listed here;
 * credit notes and wallet transactions come with an invoice or a wallet, and a payment alone does
 * not pin (as in Lago).
 */
export async function customersWithBillingObjects(db: Db | DbTx, customerIds: string[]): Promise<Set<string>> {
  if (customerIds.length === 0) return new Set();
  const rows = await db.$queryRaw<{ customer_id: string }[]>`
    SELECT customer_id FROM subscriptions WHERE customer_id = ANY(${customerIds})
    UNION SELECT customer_id FROM invoices WHERE customer_id = ANY(${customerIds})
    UNION SELECT customer_id FROM wallets WHERE customer_id = ANY(${customerIds})
    UNION SELECT customer_id FROM applied_coupons WHERE customer_id = ANY(${customerIds})`;
  return new Set(rows.map((row) => row.customer_id));
}
