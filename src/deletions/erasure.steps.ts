import type { CustomerStore } from '../customers/customer.store.js';
import type { Db } from '../db.js';
import type { Customer } from '../generated/prisma/client.js';
import { ConflictError, NotFoundError } from '../lib/errors.js';
import { summarize } from '../lib/summary.js';
import type { ErasureSubject, PersonalDataStore } from './erasure.service.js';

/**
 * GDPR erasure of a deleted customer (the last step of the deletion saga): every store clears
 * what it holds, in one transaction. The customer row stays (billing records point at it) with
 * its personal fields cleared and `erased_at` set; finalized invoices and credit notes keep their
 * billing details (the legal record), and the amounts of payments stay.
 */
export class ErasureSteps {
  constructor(private readonly deps: { db: Db; customers: CustomerStore; stores: PersonalDataStore[] }) {}

  async erase(customerId: string): Promise<string> {
    return this.deps.db.$transaction(async (tx) => {
      const customer = await this.deps.customers.lockById(tx, customerId);
      if (!customer) throw new NotFoundError('customer', customerId, 'id');
      if (customer.status !== 'deleted') {
        throw new ConflictError(`Customer ${customerId} is ${customer.status}: only a deleted customer is erased`, 'id');
      }
      const subject: ErasureSubject = {
        customerId,
        merchantId: customer.merchantId,
        environment: customer.environment,
        personal: { values: personalValues(customer), externalSource: customer.externalSource, externalId: customer.externalId },
      };
      const counts: [number, string][] = [];
      for (const store of this.deps.stores) counts.push([await store.erase(tx, subject), store.name]);
      return summarize(counts);
    });
  }
}

/** The customer's personal values as text: what an erased free-text copy must no longer contain. */
function personalValues(customer: Customer): string[] {
  const metadata = Object.values((customer.metadata ?? {}) as Record<string, unknown>).filter((value): value is string => typeof value === 'string');
  return [
    customer.email,
    customer.phone,
    customer.name,
    customer.externalId,
    customer.companyName,
    customer.taxId,
    customer.description,
    customer.addressLine1,
    customer.addressLine2,
    customer.addressCity,
    customer.addressState,
    customer.addressPostalCode,
    ...metadata,
  ].filter((value): value is string => typeof value === 'string' && value.length > 0);
}
