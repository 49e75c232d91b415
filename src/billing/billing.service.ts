import type { Db } from '../db.js';
import type { Invoice, Payment } from '../generated/prisma/client.js';
import type { CustomerService } from '../customers/customer.service.js';
import { paginate, type Page, type PaginationQuery } from '../lib/pagination.js';
import type { Scope } from '../lib/scope.js';
import type { InvoiceObject, PaymentObject } from './billing.schemas.js';

/** JSON numbers are exact up to 2^53; larger minor-unit amounts are refused rather than rounded. */
function exactNumber(amount: bigint): number {
  const value = Number(amount);
  if (!Number.isSafeInteger(value)) throw new RangeError(`amount ${amount} exceeds the exact JSON integer range`);
  return value;
}

function serializePayment(payment: Payment): PaymentObject {
  return {
    id: payment.id,
    object: 'payment',
    customer_id: payment.customerId,
    amount: exactNumber(payment.amount),
    currency: payment.currency,
    status: payment.status,
    source: payment.source,
    source_id: payment.sourceId,
    source_description: payment.sourceDescription,
    created: payment.createdAt.toISOString(),
  };
}

function serializeInvoice(invoice: Invoice): InvoiceObject {
  return {
    id: invoice.id,
    object: 'invoice',
    customer_id: invoice.customerId,
    status: invoice.status,
    number: invoice.number,
    currency: invoice.currency,
    total: exactNumber(invoice.total),
    created: invoice.createdAt.toISOString(),
    finalized: invoice.finalizedAt?.toISOString() ?? null,
  };
}

/** A customer's billing objects, listed with the same envelope as every other list. */
export class BillingService {
  constructor(private readonly deps: { db: Db; customers: CustomerService }) {}

  async customerPayments(scope: Scope, customerId: string, query: PaginationQuery): Promise<Page<PaymentObject>> {
    const customer = await this.deps.customers.find(this.deps.db, scope, customerId);
    return paginate(this.deps.db.payment, { customerId: customer.id }, query, serializePayment);
  }

  async customerInvoices(scope: Scope, customerId: string, query: PaginationQuery): Promise<Page<InvoiceObject>> {
    const customer = await this.deps.customers.find(this.deps.db, scope, customerId);
    return paginate(this.deps.db.invoice, { customerId: customer.id }, query, serializeInvoice);
  }
}
