import { z } from 'zod';
import { ListEnvelope } from '../lib/pagination.js';

export const PaymentObject = z
  .object({
    id: z.string(),
    object: z.literal('payment'),
    customer_id: z.string().nullable(),
    amount: z.number().int().meta({ description: "Integer amount in the currency's minor unit." }),
    currency: z.string(),
    status: z.enum(['pending', 'succeeded', 'failed', 'refunded', 'partially_refunded']),
    source: z.enum(['payment_link', 'invoice', 'subscription', 'checkout', 'api']),
    source_id: z.string().nullable(),
    source_description: z.string().nullable(),
    created: z.iso.datetime(),
  })
  .meta({ id: 'Payment' });
export type PaymentObject = z.infer<typeof PaymentObject>;

export const InvoiceObject = z
  .object({
    id: z.string(),
    object: z.literal('invoice'),
    customer_id: z.string(),
    status: z.enum(['draft', 'finalized', 'voided']),
    number: z.string().nullable(),
    currency: z.string(),
    total: z.number().int().meta({ description: "Integer total in the currency's minor unit." }),
    created: z.iso.datetime(),
    finalized: z.iso.datetime().nullable(),
  })
  .meta({ id: 'Invoice' });
export type InvoiceObject = z.infer<typeof InvoiceObject>;

export const PaymentList = ListEnvelope(PaymentObject).meta({ id: 'PaymentList' });
export const InvoiceList = ListEnvelope(InvoiceObject).meta({ id: 'InvoiceList' });
