import { z } from 'zod';
import { AppliedCouponObject } from '../billing/coupons/coupon.schemas.js';
import { CreditNoteObject } from '../billing/credit-notes/credit-note.schemas.js';
import { InvoiceObject } from '../billing/invoices/invoice.schemas.js';
import { PaymentObject, RefundObject } from '../billing/payments/payment.schemas.js';
import { SubscriptionObject } from '../billing/subscriptions/subscription.schemas.js';
import { WalletObject, WalletTransactionObject } from '../billing/wallets/wallet.schemas.js';
import { EventObject } from '../events/event.schemas.js';
import { MessageObject, OptOutObject } from '../messaging/message.schemas.js';
import { SuppressionObject } from '../messaging/suppression.schemas.js';
import { EnrollmentObject } from '../sequences/sequence.schemas.js';
import { WebhookDeliveryObject } from '../webhooks/webhook.schemas.js';
import { CustomerObject } from './customer.schemas.js';

/** What an erased customer's export says was kept, and why (docs/deletion.md, "Erasure"). */
export const ERASED_KEPT =
  'The personal data (name, email, phone, address, tax id, company, description, metadata, external id) was erased. ' +
  'Kept: finalized invoices and credit notes with their billing details (the legal record of a sale, GDPR art. 17(3)(b)); ' +
  'payments, refunds and wallet transactions (amounts, dates, sources: the merchant\u2019s books); messages without ' +
  'recipient or content; events with personal fields nulled; opt-outs, so the request not to be contacted is honoured.';

export const ExportedMessage = MessageObject.extend({
  rendered_data: z
    .record(z.string(), z.unknown())
    .nullable()
    .meta({
      description:
        'What a receipt, notice or notification was rendered from (the payment, the refund...): null for sequence ' +
        'messages, once the customer is erased, and once the message is older than the body retention (MESSAGE_BODY_RETENTION, 90 days by default).',
    }),
}).meta({ id: 'ExportedMessage' });

const example = {
  object: 'customer_export',
  exported_at: '2026-12-04T10:00:00.000Z',
  erased: true,
  erased_at: '2026-12-01T09:30:00.000Z',
  kept: ERASED_KEPT,
  customer: {
    id: 'cus_01JD3Z6Q4W8V2G7R1M5K9T0XYZ',
    object: 'customer',
    environment: 'live',
    status: 'deleted',
    external_id: null,
    external_source: null,
    email: null,
    phone: null,
    name: null,
    tags: ['vip'],
    metadata: {},
    address: null,
    company_name: null,
    tax_id: null,
    description: null,
    timezone: null,
    currency: 'USD',
    created: '2026-01-10T08:00:00.000Z',
    updated: '2026-12-01T09:30:00.000Z',
  },
  subscriptions: [],
  applied_coupons: [],
  payments: [
    {
      id: 'pay_01JD3Z6Q4W8V2G7R1M5K9T0XYZ',
      object: 'payment',
      customer_id: 'cus_01JD3Z6Q4W8V2G7R1M5K9T0XYZ',
      amount: 1999,
      amount_refunded: 0,
      currency: 'USD',
      status: 'succeeded',
      source: 'api',
      source_id: null,
      source_description: null,
      paid_at: '2026-11-01T10:00:00.000Z',
      created: '2026-11-01T10:00:00.000Z',
    },
  ],
  refunds: [],
  invoices: [],
  credit_notes: [],
  wallets: [],
  wallet_transactions: [],
  sequence_enrollments: [],
  messages: [],
  opt_outs: [],
  suppressions: [],
  events: [],
  webhook_deliveries: [],
};

/**
 * The export document, in the order it is written: the customer and the erasure notice first,
 * then one array per section. Each object is what the API answers for it elsewhere.
 */
export const CustomerExport = z
  .object({
    object: z.literal('customer_export'),
    exported_at: z.iso.datetime().meta({ description: 'The moment of the snapshot every section was read from.' }),
    erased: z.boolean().meta({ description: "True once the deletion erased the customer's personal data." }),
    erased_at: z.iso.datetime().nullable(),
    kept: z.string().nullable().meta({ description: 'After erasure: what the service still holds about the customer, and why.' }),
    customer: CustomerObject,
    subscriptions: z.array(SubscriptionObject),
    applied_coupons: z.array(AppliedCouponObject),
    payments: z.array(PaymentObject),
    refunds: z.array(RefundObject).meta({ description: "Refunds of the customer's payments." }),
    invoices: z.array(InvoiceObject),
    credit_notes: z.array(CreditNoteObject),
    wallets: z.array(WalletObject),
    wallet_transactions: z.array(WalletTransactionObject),
    sequence_enrollments: z.array(EnrollmentObject),
    messages: z.array(ExportedMessage),
    opt_outs: z.array(OptOutObject),
    suppressions: z
      .array(SuppressionObject)
      .meta({ description: "The suppression list's entries for the customer's current email and phone (none after erasure: the list keeps hashes only)." }),
    events: z.array(EventObject).meta({ description: 'Stored events about the customer (within the event retention).' }),
    webhook_deliveries: z.array(WebhookDeliveryObject).meta({ description: 'Deliveries of those events to webhook endpoints.' }),
  })
  .meta({ id: 'CustomerExport', example });
export type CustomerExport = z.infer<typeof CustomerExport>;
