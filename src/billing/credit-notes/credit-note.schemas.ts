import { z } from 'zod';
import { idSchema } from '../../lib/ids.js';
import { ListEnvelope, paginationQuery } from '../../lib/pagination.js';
import { Amount, CustomerIdField, MinorUnits, Text, Timestamp } from '../billing.schemas.js';
import { BillingDetails } from '../invoices/invoice.schemas.js';

export const CREDIT_NOTE_REASONS = [
  'duplicated_charge',
  'product_unsatisfactory',
  'order_change',
  'order_cancellation',
  'fraudulent_charge',
  'other',
] as const;

export const CreateCreditNoteBody = z
  .strictObject({
    invoice_id: idSchema('invoice'),
    amount: Amount.meta({ description: 'At most what the invoice billed (after coupons) minus its earlier credit notes.' }),
    reason: z.enum(CREDIT_NOTE_REASONS),
    description: Text(500).nullish(),
  })
  .meta({
    id: 'CreateCreditNoteBody',
    example: { invoice_id: 'inv_01JD3Z6Q4W8V2G7R1M5K9T0XYZ', amount: 1000, reason: 'order_change', description: 'Workshop shortened' },
  });
export type CreateCreditNoteBody = z.infer<typeof CreateCreditNoteBody>;

export const CreditNotePath = z.object({ id: idSchema('creditNote') });
export const ListCreditNotesQuery = paginationQuery('creditNote').extend({
  customer_id: CustomerIdField.optional(),
  invoice_id: idSchema('invoice').optional(),
});
export type ListCreditNotesQuery = z.infer<typeof ListCreditNotesQuery>;
export const CustomerCreditNotesQuery = paginationQuery('creditNote');

export const CreditNoteObject = z
  .object({
    id: z.string(),
    object: z.literal('credit_note'),
    customer_id: z.string(),
    invoice_id: z.string(),
    subscription_id: z.string().nullable().meta({ description: 'The terminated subscription whose unused time this credits.' }),
    number: z.string(),
    status: z.literal('issued'),
    reason: z.enum(CREDIT_NOTE_REASONS),
    description: z.string().nullable(),
    currency: z.string(),
    amount: MinorUnits,
    refunded_amount: MinorUnits.meta({ description: 'Refunds recorded against this credit note.' }),
    billing_details: BillingDetails.nullable(),
    created: Timestamp,
  })
  .meta({ id: 'CreditNote' });
export type CreditNoteObject = z.infer<typeof CreditNoteObject>;

export const CreditNoteList = ListEnvelope(CreditNoteObject).meta({ id: 'CreditNoteList' });
