import { z } from 'zod';
import { idSchema } from '../../lib/ids.js';
import { ListEnvelope, paginationQuery } from '../../lib/pagination.js';
import { StoredAddress } from '../../customers/customer.schemas.js';
import { Currency, CustomerIdField, MinorUnits, Text, Timestamp } from '../billing.schemas.js';

const STATUSES = ['draft', 'finalized', 'voided'] as const;
const TYPES = ['subscription', 'one_off', 'credit'] as const;

export const CreateInvoiceBody = z
  .strictObject({
    customer_id: CustomerIdField,
    currency: Currency,
    lines: z
      .array(
        z.strictObject({
          description: Text(500).meta({ example: 'Onboarding workshop' }),
          quantity: z.number().int().min(1).max(1_000_000).default(1),
          unit_amount: z
            .number()
            .int()
            .min(-Number.MAX_SAFE_INTEGER)
            .max(Number.MAX_SAFE_INTEGER)
            .meta({
              description:
                "Price of one unit in the currency's minor unit; negative for a discount line. quantity x unit_amount, " +
                'and the sum of the lines, stay within ±9007199254740991.',
              example: 25000,
            }),
        }),
      )
      .min(1)
      .max(100),
  })
  .meta({
    id: 'CreateInvoiceBody',
    example: { customer_id: 'cus_01JD3Z6Q4W8V2G7R1M5K9T0XYZ', currency: 'USD', lines: [{ description: 'Onboarding workshop', quantity: 2, unit_amount: 25000 }] },
  });
export type CreateInvoiceBody = z.infer<typeof CreateInvoiceBody>;

export const InvoicePath = z.object({ id: idSchema('invoice') });
const filters = { status: z.enum(STATUSES).optional(), invoice_type: z.enum(TYPES).optional() };
export const ListInvoicesQuery = paginationQuery('invoice').extend({ customer_id: CustomerIdField.optional(), ...filters });
export type ListInvoicesQuery = z.infer<typeof ListInvoicesQuery>;
export const CustomerInvoicesQuery = paginationQuery('invoice').extend(filters);

export const BillingDetails = z
  .object({
    name: z.string().nullable(),
    company_name: z.string().nullable(),
    tax_id: z.string().nullable(),
    address: StoredAddress,
  })
  .meta({
    id: 'BillingDetails',
    description:
      "The customer's billing details when the invoice was finalized: the legal record, kept when the customer's " +
      'personal data is erased.',
  });
export type BillingDetails = z.infer<typeof BillingDetails>;

export const InvoiceLineObject = z
  .object({
    id: z.string(),
    object: z.literal('invoice_line'),
    description: z.string(),
    quantity: z.number().int(),
    unit_amount: MinorUnits,
    amount: MinorUnits,
    subscription_id: z.string().nullable(),
    period_start: Timestamp.nullable(),
    period_end: Timestamp.nullable(),
  })
  .meta({ id: 'InvoiceLine' });

export const InvoiceObject = z
  .object({
    id: z.string(),
    object: z.literal('invoice'),
    customer_id: z.string(),
    invoice_type: z.enum(TYPES),
    status: z.enum(STATUSES),
    number: z.string().nullable().meta({ description: 'Given at finalization, per merchant and environment, without gaps.' }),
    currency: z.string(),
    lines: z.array(InvoiceLineObject),
    subtotal: MinorUnits.meta({ description: "Sum of the lines' amounts." }),
    coupons_amount: MinorUnits.meta({ description: 'Discount of applied coupons.' }),
    credits_applied: MinorUnits.meta({ description: 'Prepaid wallet credits applied at finalization.' }),
    total: MinorUnits.meta({ description: 'subtotal - coupons_amount - credits_applied.' }),
    billing_details: BillingDetails.nullable(),
    created: Timestamp,
    finalized: Timestamp.nullable(),
    voided: Timestamp.nullable(),
  })
  .meta({ id: 'Invoice' });
export type InvoiceObject = z.infer<typeof InvoiceObject>;

export const InvoiceList = ListEnvelope(InvoiceObject).meta({ id: 'InvoiceList' });
