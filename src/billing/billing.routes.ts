import { CustomerPath } from '../customers/customer.schemas.js';
import { operationsFor } from '../http/operation.js';
import { paginationQuery } from '../lib/pagination.js';
import type { BillingService } from './billing.service.js';
import { InvoiceList, PaymentList } from './billing.schemas.js';

const op = operationsFor<{ billing: BillingService }>();
const tag = 'Billing';

export const billingOperations = {
  listCustomerPayments: op({
    method: 'get',
    path: '/v1/customers/{id}/payments',
    tag,
    summary: "List a customer's payments",
    params: CustomerPath,
    query: paginationQuery('payment'),
    responses: { 200: { description: 'One page of payments', schema: PaymentList } },
    errors: [404],
    handle: ({ billing }, { scope, params, query }) => billing.customerPayments(scope, params.id, query),
  }),
  listCustomerInvoices: op({
    method: 'get',
    path: '/v1/customers/{id}/invoices',
    tag,
    summary: "List a customer's invoices",
    params: CustomerPath,
    query: paginationQuery('invoice'),
    responses: { 200: { description: 'One page of invoices', schema: InvoiceList } },
    errors: [404],
    handle: ({ billing }, { scope, params, query }) => billing.customerInvoices(scope, params.id, query),
  }),
};
