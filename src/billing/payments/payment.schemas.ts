import { z } from 'zod';
import { idSchema } from '../../lib/ids.js';
import { ListEnvelope, paginationQuery } from '../../lib/pagination.js';
import { Amount, Currency, CustomerIdField, Instant, MinorUnits, Text, Timestamp } from '../billing.schemas.js';

export const PAYMENT_STATUSES = ['pending', 'succeeded', 'failed', 'refunded', 'partially_refunded'] as const;
export const PAYMENT_SOURCES = ['payment_link', 'invoice', 'subscription', 'checkout', 'api'] as const;
const Source = z.enum(PAYMENT_SOURCES).meta({ description: 'Where the payment came from; `source_id` names the object there.' });

export const CreatePaymentBody = z
  .strictObject({
    customer_id: CustomerIdField.nullish(),
    amount: Amount,
    currency: Currency,
    status: z
      .enum(['pending', 'succeeded', 'failed'])
      .default('pending')
      .meta({ description: 'Refunded states are reached through refunds only.' }),
    source: Source.default('api'),
    source_id: Text(255).nullish().meta({ example: 'plink_1Nq2' }),
    source_description: Text(500).nullish().meta({ example: 'Spring sale payment link' }),
    paid_at: Instant.nullish().meta({ description: 'When a succeeded payment was paid (only with `status: succeeded`); defaults to now.' }),
  })
  .meta({
    id: 'CreatePaymentBody',
    example: {
      customer_id: 'cus_01JD3Z6Q4W8V2G7R1M5K9T0XYZ',
      amount: 1999,
      currency: 'USD',
      status: 'succeeded',
      source: 'payment_link',
      source_id: 'plink_1Nq2',
      source_description: 'Spring sale payment link',
      paid_at: '2026-11-26T09:00:00Z',
    },
    // The service's rule "paid_at is set on a succeeded payment only", as JSON Schema states it.
    dependentSchemas: {
      paid_at: {
        anyOf: [{ properties: { paid_at: { type: 'null' } } }, { required: ['status'], properties: { status: { const: 'succeeded' } } }],
      },
    },
  });
export type CreatePaymentBody = z.infer<typeof CreatePaymentBody>;

export const SucceedPaymentBody = z
  .strictObject({ paid_at: Instant.optional().meta({ description: 'Defaults to now.' }) })
  .meta({ id: 'SucceedPaymentBody', example: { paid_at: '2026-11-26T09:00:00Z' } });
export type SucceedPaymentBody = z.infer<typeof SucceedPaymentBody>;

export const RefundPaymentBody = z
  .strictObject({
    amount: Amount,
    reason: Text(500).nullish(),
    credit_note_id: idSchema('creditNote')
      .nullish()
      .meta({ description: "Records the refund against this credit note of the payment's customer, in the same currency." }),
  })
  .meta({
    id: 'RefundPaymentBody',
    description: 'At most what the payment has left to refund (and, with a credit note, what the credit note has left).',
    example: { amount: 500, reason: 'Damaged in transit' },
  });
export type RefundPaymentBody = z.infer<typeof RefundPaymentBody>;

export const PaymentPath = z.object({ id: idSchema('payment') });

const filters = {
  source: Source.optional(),
  status: z.enum(PAYMENT_STATUSES).optional(),
};
export const ListPaymentsQuery = paginationQuery('payment').extend({ customer_id: CustomerIdField.optional(), ...filters });
export type ListPaymentsQuery = z.infer<typeof ListPaymentsQuery>;
export const CustomerPaymentsQuery = paginationQuery('payment').extend(filters);
export const ListRefundsQuery = paginationQuery('refund');

export const PaymentObject = z
  .object({
    id: z.string(),
    object: z.literal('payment'),
    customer_id: z.string().nullable(),
    amount: MinorUnits,
    amount_refunded: MinorUnits,
    currency: z.string(),
    status: z.enum(PAYMENT_STATUSES),
    source: z.enum(PAYMENT_SOURCES),
    source_id: z.string().nullable(),
    source_description: z.string().nullable(),
    paid_at: Timestamp.nullable(),
    created: Timestamp,
  })
  .meta({ id: 'Payment' });
export type PaymentObject = z.infer<typeof PaymentObject>;

export const RefundObject = z
  .object({
    id: z.string(),
    object: z.literal('refund'),
    payment_id: z.string(),
    amount: MinorUnits,
    reason: z.string().nullable(),
    credit_note_id: z.string().nullable(),
    created: Timestamp,
  })
  .meta({ id: 'Refund' });
export type RefundObject = z.infer<typeof RefundObject>;

export const PaymentList = ListEnvelope(PaymentObject).meta({ id: 'PaymentList' });
export const RefundList = ListEnvelope(RefundObject).meta({ id: 'RefundList' });
