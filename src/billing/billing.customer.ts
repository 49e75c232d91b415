import { lockCustomerForShare } from '../customers/customer.store.js';
import type { DbTx } from '../db.js';
import type { Customer } from '../generated/prisma/client.js';
import { ConflictError, NotFoundError } from '../lib/errors.js';
import type { Scope } from '../lib/scope.js';

/**
 * The customer a new billing object is for, share-locked until the write commits: a concurrent
 * DELETE (which takes the row's update lock) waits for this write, and this write waits for a
 * DELETE in progress and then sees the customer `deleting`. So once a deletion is recorded no
 * billing object can appear behind the saga's back. A customer with a currency takes objects in
 * that currency only.
 */
export async function lockBillableCustomer(
  tx: DbTx,
  scope: Scope,
  customerId: string,
  options: { currency?: string } = {},
): Promise<Customer> {
  const customer = await lockCustomerForShare(tx, scope, customerId);
  if (!customer) throw new NotFoundError('customer', customerId, 'customer_id');
  if (customer.status !== 'active') {
    throw new ConflictError(`Customer ${customerId} is being deleted and takes no new billing objects`, 'customer_id', {
      customer_id: customerId,
    });
  }
  if (options.currency !== undefined && customer.currency !== null && customer.currency !== options.currency) {
    throw new ConflictError(
      `Customer ${customerId} is billed in ${customer.currency}; a billing object in ${options.currency} is refused`,
      'currency',
      { customer_id: customerId },
    );
  }
  return customer;
}

type LockableTable = 'payments' | 'subscriptions' | 'invoices' | 'credit_notes' | 'wallets' | 'applied_coupons';

/**
 * Locks rows of a tenant for update, in id order (so two writers never deadlock on the same
 * rows), and returns the ids found; another tenant's id is simply not found.
 */
export async function lockForUpdate(tx: DbTx, table: LockableTable, scope: Scope, ids: string[]): Promise<string[]> {
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
  table: LockableTable,
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
