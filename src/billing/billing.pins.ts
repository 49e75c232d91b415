import type { Db, DbTx } from '../db.js';

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
