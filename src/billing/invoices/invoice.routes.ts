import { CustomerPath } from '../../customers/customer.schemas.js';
import { operationsFor } from '../../http/operation.js';
import type { InvoiceService } from './invoice.service.js';
import { CreateInvoiceBody, CustomerInvoicesQuery, InvoiceList, InvoiceObject, InvoicePath, ListInvoicesQuery } from './invoice.schemas.js';

const op = operationsFor<{ invoices: InvoiceService }>();
const tag = 'Invoices';

export const invoiceOperations = {
  createInvoice: op({
    method: 'post',
    path: '/v1/invoices',
    tag,
    summary: 'Create a one-off draft invoice',
    description:
      "A draft with its lines, in the customer's currency; finalize it to number it and apply wallet credits. " +
      'Emits `invoice.created`.',
    body: CreateInvoiceBody,
    responses: { 201: { description: 'The draft invoice', schema: InvoiceObject } },
    errors: [404, 409],
    handle: ({ invoices }, { write, body }) => invoices.create(write, body),
  }),
  listInvoices: op({
    method: 'get',
    path: '/v1/invoices',
    tag,
    summary: 'List invoices',
    description: 'Newest first; filter by `customer_id` (also a deleted customer), `status` and `invoice_type`.',
    query: ListInvoicesQuery,
    responses: { 200: { description: 'One page of invoices', schema: InvoiceList } },
    handle: ({ invoices }, { scope, query }) => invoices.list(scope, query),
  }),
  getInvoice: op({
    method: 'get',
    path: '/v1/invoices/{id}',
    tag,
    summary: 'Retrieve an invoice',
    params: InvoicePath,
    responses: { 200: { description: 'The invoice', schema: InvoiceObject } },
    errors: [404],
    handle: ({ invoices }, { scope, params }) => invoices.get(scope, params.id),
  }),
  finalizeInvoice: op({
    method: 'post',
    path: '/v1/invoices/{id}/finalize',
    tag,
    summary: 'Finalize a draft invoice',
    description:
      "Applies the customer's prepaid wallet credits, gives the next number of the merchant and environment, and keeps " +
      "the customer's billing details (name, company, tax id, address) on the invoice. Emits `invoice.finalized`. 409 " +
      'unless it is a draft, or when its total would be negative.',
    params: InvoicePath,
    responses: { 200: { description: 'The finalized invoice', schema: InvoiceObject } },
    errors: [404, 409],
    handle: ({ invoices }, { write, params }) => invoices.finalize(write, params.id),
  }),
  voidInvoice: op({
    method: 'post',
    path: '/v1/invoices/{id}/void',
    tag,
    summary: 'Void a draft invoice',
    description: 'The draft will never be finalized (it takes no number). A finalized invoice is corrected with a credit note: 409.',
    params: InvoicePath,
    responses: { 200: { description: 'The voided invoice', schema: InvoiceObject } },
    errors: [404, 409],
    handle: ({ invoices }, { write, params }) => invoices.void(write, params.id),
  }),
  listCustomerInvoices: op({
    method: 'get',
    path: '/v1/customers/{id}/invoices',
    tag,
    summary: "List a customer's invoices",
    params: CustomerPath,
    query: CustomerInvoicesQuery,
    responses: { 200: { description: 'One page of invoices', schema: InvoiceList } },
    errors: [404],
    handle: ({ invoices }, { scope, params, query }) => invoices.listForCustomer(scope, params.id, query),
  }),
};
