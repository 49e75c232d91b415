import { serializeAppliedCoupon } from '../billing/coupons/coupon.serializer.js';
import { serializeCreditNote } from '../billing/credit-notes/credit-note.serializer.js';
import { serializeInvoice } from '../billing/invoices/invoice.serializer.js';
import { serializePayment, serializeRefund } from '../billing/payments/payment.serializer.js';
import { serializeSubscription } from '../billing/subscriptions/subscription.serializer.js';
import { serializeWallet, serializeWalletTransaction } from '../billing/wallets/wallet.serializer.js';
import { serializeEvent } from '../events/event.serializer.js';
import type { Message } from '../generated/prisma/client.js';
import { NotFoundError } from '../lib/errors.js';
import type { Scope } from '../lib/scope.js';
import { serializeMessage, serializeOptOut } from '../messaging/message.serializer.js';
import { serializeSuppression } from '../messaging/suppression.service.js';
import { serializeEnrollment } from '../sequences/sequence.serializer.js';
import { serializeDelivery } from '../webhooks/webhook.serializer.js';
import type { CustomerExportSnapshot, CustomerExportStore } from './customer-export.store.js';
import { ERASED_KEPT, type CustomerExport } from './customer-export.schemas.js';
import { serializeCustomer } from './customer.serializer.js';

/** An export being written: its JSON text in pieces, and how to give its snapshot back early. */
export interface CustomerExportStream {
  customerId: string;
  chunks: AsyncIterable<string>;
  /** Ends the snapshot's transaction; the chunks do it themselves once read to the end. */
  close(): Promise<void>;
}

type Section = Exclude<keyof CustomerExport, 'object' | 'exported_at' | 'erased' | 'erased_at' | 'kept' | 'customer'>;

function serializeExportedMessage(message: Message): CustomerExport['messages'][number] {
  return { ...serializeMessage(message), rendered_data: (message.data as Record<string, unknown> | null) ?? null };
}

/** One array of the document: `"name":[...]`, written a page of rows at a time. */
async function* section<Row>(name: Section, pages: AsyncIterable<Row[]>, serialize: (row: Row) => unknown): AsyncGenerator<string> {
  yield `,${JSON.stringify(name)}:[`;
  let separator = '';
  for await (const rows of pages) {
    let text = '';
    for (const row of rows) {
      text += separator + JSON.stringify(serialize(row));
      separator = ',';
    }
    yield text;
  }
  yield ']';
}

async function* once<Row>(rows: Promise<Row[]>): AsyncGenerator<Row[]> {
  yield await rows;
}

/**
 * The document, in CustomerExport's order. The closing brace comes last, only after every
 * section was read: a document cut short by an error is never valid JSON.
 */
async function* exportDocument(snapshot: CustomerExportSnapshot): AsyncGenerator<string> {
  try {
    const { customer } = snapshot;
    const head = {
      object: 'customer_export',
      exported_at: snapshot.takenAt.toISOString(),
      erased: customer.erasedAt !== null,
      erased_at: customer.erasedAt?.toISOString() ?? null,
      kept: customer.erasedAt ? ERASED_KEPT : null,
      customer: serializeCustomer(customer),
    } satisfies Pick<CustomerExport, 'object' | 'exported_at' | 'erased' | 'erased_at' | 'kept' | 'customer'>;
    yield JSON.stringify(head).slice(0, -1);
    yield* section('subscriptions', snapshot.subscriptions(), serializeSubscription);
    yield* section('applied_coupons', snapshot.appliedCoupons(), serializeAppliedCoupon);
    yield* section('payments', snapshot.payments(), serializePayment);
    yield* section('refunds', snapshot.refunds(), serializeRefund);
    yield* section('invoices', snapshot.invoices(), serializeInvoice);
    yield* section('credit_notes', snapshot.creditNotes(), serializeCreditNote);
    yield* section('wallets', snapshot.wallets(), serializeWallet);
    yield* section('wallet_transactions', snapshot.walletTransactions(), serializeWalletTransaction);
    yield* section('sequence_enrollments', snapshot.enrollments(), serializeEnrollment);
    yield* section('messages', snapshot.messages(), serializeExportedMessage);
    yield* section('opt_outs', once(snapshot.optOuts()), serializeOptOut);
    yield* section('suppressions', once(snapshot.suppressions()), serializeSuppression);
    yield* section('events', snapshot.events(), serializeEvent);
    yield* section('webhook_deliveries', snapshot.webhookDeliveries(), serializeDelivery);
    yield '}';
  } finally {
    await snapshot.close();
  }
}

/** The right of access: everything the service holds about one customer, as one JSON document. */
export class CustomerExportService {
  constructor(private readonly deps: { store: CustomerExportStore }) {}

  /** The tenant's customer's export, deleted customers included; 404 for any other id. */
  async export(scope: Scope, customerId: string): Promise<CustomerExportStream> {
    const snapshot = await this.deps.store.open(scope, customerId);
    if (!snapshot) throw new NotFoundError('customer', customerId, 'id');
    return { customerId, chunks: exportDocument(snapshot), close: () => snapshot.close() };
  }
}
