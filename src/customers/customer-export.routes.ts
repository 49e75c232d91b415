import { operationsFor } from '../http/operation.js';
import type { CustomerExportService, CustomerExportStream } from './customer-export.service.js';
import { CustomerExport } from './customer-export.schemas.js';
import { CustomerPath } from './customer.schemas.js';

const op = operationsFor<{ customerExports: CustomerExportService }>();

export const customerExportOperations = {
  exportCustomer: op({
    method: 'post',
    path: '/v1/customers/{id}/export',
    tag: 'Customers',
    summary: "Export a customer's data",
    description:
      'The right of access: one JSON document of everything the service holds about the customer (profile, billing ' +
      'objects, payments and refunds, invoices and credit notes, wallets, sequence enrolments and messages, opt-outs, ' +
      'events and webhook deliveries), each object as the API answers it elsewhere, all read from one consistent ' +
      'snapshot and streamed as an attachment. A deleted customer is exported too: after erasure the document says ' +
      'so (`erased`, `erased_at`) and what was kept and why (`kept`). A read: an `Idempotency-Key` is accepted but ' +
      'nothing is stored under it, so a retry exports again. A document cut short by an error ends without its ' +
      'closing brace and the connection is reset: never take such a body for a whole one.',
    params: CustomerPath,
    responses: { 200: { description: 'The export document, streamed', schema: CustomerExport } },
    errors: [404],
    handle: ({ customerExports }, { scope, params }) => customerExports.export(scope, params.id),
    stream: (exported: CustomerExportStream) => ({
      status: 200,
      headers: {
        'Content-Disposition': `attachment; filename="customer-export-${exported.customerId}.json"`,
        // Personal data: no cache on the way may keep a copy.
        'Cache-Control': 'no-store',
      },
      chunks: exported.chunks,
      close: exported.close,
    }),
  }),
};
