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
