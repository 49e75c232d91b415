import type { Payment, Refund } from '../../generated/prisma/client.js';
import { wireInteger } from '../../lib/money.js';
import type { PaymentObject, RefundObject } from './payment.schemas.js';

export function serializePayment(payment: Payment): PaymentObject {
  return {
    id: payment.id,
    object: 'payment',
    customer_id: payment.customerId,
    amount: wireInteger(payment.amount),
    amount_refunded: wireInteger(payment.amountRefunded),
    currency: payment.currency,
    status: payment.status,
    source: payment.source,
    source_id: payment.sourceId,
    source_description: payment.sourceDescription,
    paid_at: payment.paidAt?.toISOString() ?? null,
    created: payment.createdAt.toISOString(),
  };
}

export function serializeRefund(refund: Refund): RefundObject {
  return {
    id: refund.id,
    object: 'refund',
    payment_id: refund.paymentId,
    amount: wireInteger(refund.amount),
    reason: refund.reason,
    credit_note_id: refund.creditNoteId,
    created: refund.createdAt.toISOString(),
  };
}
