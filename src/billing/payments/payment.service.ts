import type { CustomerService } from '../../customers/customer.service.js';
import type { Db, DbTx } from '../../db.js';
import { recordEvents, type NewEvent } from '../../events/outbox.js';
import type { Payment } from '../../generated/prisma/client.js';
import { ConflictError, NotFoundError, ValidationError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { Page, PaginationQuery } from '../../lib/pagination.js';
import type { Scope, WriteContext } from '../../lib/scope.js';
import { lockBillableCustomer } from '../billing.customer.js';
import type { CreditNoteStore } from '../credit-notes/credit-note.store.js';
import type { InvoiceStore } from '../invoices/invoice.store.js';
import type {
  CreatePaymentBody,
  ListPaymentsQuery,
  PaymentObject,
  RefundObject,
  RefundPaymentBody,
  SucceedPaymentBody,
} from './payment.schemas.js';
import { serializePayment, serializeRefund } from './payment.serializer.js';
import type { PaymentStore } from './payment.store.js';

/** The event of a payment reaching a status, as the receipts and the LTV rollup consume it. */
function paymentEvent(type: NewEvent['type'], payment: Payment, extra?: Record<string, unknown>): NewEvent {
  return { type, object: serializePayment(payment), customerId: payment.customerId, ...(extra && { extra }) };
}

/**
 * Payments with their source (payment link, invoice, subscription, checkout, API). Status moves
 * pending -> succeeded | failed; refunds move a succeeded payment to partially_refunded and
 * refunded. Every change records its events in the same transaction.
 */
export class PaymentService {
  constructor(
    private readonly deps: { db: Db; customers: CustomerService; store: PaymentStore; invoices: InvoiceStore; creditNotes: CreditNoteStore },
  ) {}

  async create(write: WriteContext<PaymentObject>, body: CreatePaymentBody): Promise<PaymentObject> {
    if (body.paid_at && body.status !== 'succeeded') throw ValidationError.field('paid_at', 'paid_at is set on a succeeded payment only');
    return this.deps.db.$transaction(async (tx) => {
      if (body.customer_id) await this.assertPayable(tx, write, body);
      const now = new Date();
      const payment = await this.deps.store.create(
        {
          id: newId('payment'),
          merchantId: write.merchantId,
          environment: write.environment,
          customerId: body.customer_id ?? null,
          amount: BigInt(body.amount),
          currency: body.currency,
          status: body.status,
          source: body.source,
          sourceId: body.source_id ?? null,
          sourceDescription: body.source_description ?? null,
          paidAt: body.status === 'succeeded' ? (body.paid_at ?? now) : null,
          createdAt: now,
          updatedAt: now,
        },
        tx,
      );
      const events = [paymentEvent('payment.created', payment)];
      if (payment.status === 'succeeded') events.push(paymentEvent('payment.succeeded', payment));
      if (payment.status === 'failed') events.push(paymentEvent('payment.failed', payment));
      await recordEvents(tx, write, events);
      const result = serializePayment(payment);
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  async get(scope: Scope, id: string): Promise<PaymentObject> {
    return serializePayment(await this.find(scope, id));
  }

  async list(scope: Scope, query: ListPaymentsQuery): Promise<Page<PaymentObject>> {
    return this.deps.store.list(scope, query, serializePayment);
  }

  async listForCustomer(scope: Scope, customerId: string, query: Omit<ListPaymentsQuery, 'customer_id'>): Promise<Page<PaymentObject>> {
    const customer = await this.deps.customers.find(this.deps.db, scope, customerId);
    return this.list(scope, { ...query, customer_id: customer.id });
  }

  async succeed(write: WriteContext<PaymentObject>, id: string, body: SucceedPaymentBody): Promise<PaymentObject> {
    return this.transition(write, id, 'succeeded', body.paid_at ?? new Date());
  }

  async fail(write: WriteContext<PaymentObject>, id: string): Promise<PaymentObject> {
    return this.transition(write, id, 'failed', null);
  }

  /**
   * Refunds part or all of a succeeded payment, optionally against one of the customer's credit
   * notes (also after the customer was deleted: the money side outlives the customer).
   */
  async refund(write: WriteContext<RefundObject>, paymentId: string, body: RefundPaymentBody): Promise<RefundObject> {
    return this.deps.db.$transaction(async (tx) => {
      const payment = await this.lock(tx, write, paymentId);
      if (payment.status !== 'succeeded' && payment.status !== 'partially_refunded') {
        throw new ConflictError(`Payment ${payment.id} is ${payment.status}; only a succeeded payment can be refunded`, 'id');
      }
      const amount = BigInt(body.amount);
      const refundable = payment.amount - payment.amountRefunded;
      if (amount > refundable) throw ValidationError.field('amount', `at most ${refundable} of this payment can still be refunded`);
      if (body.credit_note_id) await this.recordAgainstCreditNote(tx, write, payment, body.credit_note_id, amount);
      const now = new Date();
      const refund = await this.deps.store.createRefund(
        {
          id: newId('refund'),
          merchantId: write.merchantId,
          environment: write.environment,
          paymentId: payment.id,
          amount,
          reason: body.reason ?? null,
          creditNoteId: body.credit_note_id ?? null,
          createdAt: now,
        },
        tx,
      );
      const refunded = payment.amountRefunded + amount;
      const updated = await this.deps.store.update(
        payment.id,
        { amountRefunded: refunded, status: refunded === payment.amount ? 'refunded' : 'partially_refunded', updatedAt: now },
        tx,
      );
      const result = serializeRefund(refund);
      const type = updated.status === 'refunded' ? 'payment.refunded' : 'payment.partially_refunded';
      await recordEvents(tx, write, [paymentEvent(type, updated, { refund: result })]);
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  async listRefunds(scope: Scope, paymentId: string, query: PaginationQuery): Promise<Page<RefundObject>> {
    const payment = await this.find(scope, paymentId);
    return this.deps.store.listRefunds(payment.id, query, serializeRefund);
  }

  /**
   * A payment names a live customer, except the payment of one of the customer's finalized
   * invoices: a deleted customer's closing invoice is still paid.
   */
  private async assertPayable(tx: DbTx, scope: Scope, body: CreatePaymentBody): Promise<void> {
    if (body.source === 'invoice' && body.source_id) {
      const invoice = await this.deps.invoices.finalizedCurrency(scope, body.source_id, body.customer_id!, tx);
      if (invoice) {
        if (invoice.currency !== body.currency) throw ValidationError.field('currency', `invoice ${body.source_id} is in ${invoice.currency}`);
        return;
      }
    }
    await lockBillableCustomer(tx, scope, body.customer_id!);
  }

  private async recordAgainstCreditNote(tx: DbTx, scope: Scope, payment: Payment, creditNoteId: string, amount: bigint): Promise<void> {
    const note = await this.deps.creditNotes.lock(scope, creditNoteId, tx);
    if (!note) throw new NotFoundError('credit note', creditNoteId, 'credit_note_id');
    if (note.customerId !== payment.customerId) throw ValidationError.field('credit_note_id', "the credit note is not for this payment's customer");
    if (note.currency !== payment.currency) throw ValidationError.field('credit_note_id', `the credit note is in ${note.currency}`);
    const open = note.amount - note.refundedAmount;
    if (amount > open) throw ValidationError.field('amount', `at most ${open} can still be refunded against credit note ${note.id}`);
    await this.deps.creditNotes.recordRefunded(note.id, note.refundedAmount + amount, tx);
  }

  private async transition(
    write: WriteContext<PaymentObject>,
    id: string,
    to: 'succeeded' | 'failed',
    paidAt: Date | null,
  ): Promise<PaymentObject> {
    return this.deps.db.$transaction(async (tx) => {
      const payment = await this.lock(tx, write, id);
      if (payment.status !== 'pending') {
        throw new ConflictError(`Payment ${payment.id} is ${payment.status}; only a pending payment can become ${to}`, 'id');
      }
      const updated = await this.deps.store.update(payment.id, { status: to, paidAt, updatedAt: new Date() }, tx);
      await recordEvents(tx, write, [paymentEvent(to === 'succeeded' ? 'payment.succeeded' : 'payment.failed', updated)]);
      const result = serializePayment(updated);
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  private async lock(tx: DbTx, scope: Scope, id: string): Promise<Payment> {
    const payment = await this.deps.store.lock(scope, id, tx);
    if (!payment) throw new NotFoundError('payment', id, 'id');
    return payment;
  }

  private async find(scope: Scope, id: string): Promise<Payment> {
    const payment = await this.deps.store.find(scope, id);
    if (!payment) throw new NotFoundError('payment', id, 'id');
    return payment;
  }
}
