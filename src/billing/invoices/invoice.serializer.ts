import type { Invoice, InvoiceLine } from '../../generated/prisma/client.js';
import { wireInteger } from '../../lib/money.js';
import type { BillingDetails, InvoiceObject } from './invoice.schemas.js';

export type InvoiceWithLines = Invoice & { lines: InvoiceLine[] };

export function serializeInvoice(invoice: InvoiceWithLines): InvoiceObject {
  return {
    id: invoice.id,
    object: 'invoice',
    customer_id: invoice.customerId,
    invoice_type: invoice.invoiceType,
    status: invoice.status,
    number: invoice.number,
    currency: invoice.currency,
    lines: [...invoice.lines]
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((line) => ({
        id: line.id,
        object: 'invoice_line',
        description: line.description,
        quantity: line.quantity,
        unit_amount: wireInteger(line.unitAmount),
        amount: wireInteger(line.amount),
        subscription_id: line.subscriptionId,
        period_start: line.periodStart?.toISOString() ?? null,
        period_end: line.periodEnd?.toISOString() ?? null,
      })),
    subtotal: wireInteger(invoice.subtotal),
    coupons_amount: wireInteger(invoice.couponsAmount),
    credits_applied: wireInteger(invoice.creditsApplied),
    total: wireInteger(invoice.total),
    billing_details: invoice.billingDetails as BillingDetails | null,
    created: invoice.createdAt.toISOString(),
    finalized: invoice.finalizedAt?.toISOString() ?? null,
    voided: invoice.voidedAt?.toISOString() ?? null,
  };
}
