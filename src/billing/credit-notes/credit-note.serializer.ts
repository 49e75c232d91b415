import type { CreditNote } from '../../generated/prisma/client.js';
import { wireInteger } from '../../lib/money.js';
import type { BillingDetails } from '../invoices/invoice.schemas.js';
import type { CreditNoteObject } from './credit-note.schemas.js';

export function serializeCreditNote(note: CreditNote): CreditNoteObject {
  return {
    id: note.id,
    object: 'credit_note',
    customer_id: note.customerId,
    invoice_id: note.invoiceId,
    subscription_id: note.subscriptionId,
    number: note.number,
    status: note.status,
    reason: note.reason,
    description: note.description,
    currency: note.currency,
    amount: wireInteger(note.amount),
    refunded_amount: wireInteger(note.refundedAmount),
    billing_details: note.billingDetails as BillingDetails | null,
    created: note.createdAt.toISOString(),
  };
}
