import type { CustomerService } from '../../customers/customer.service.js';
import type { Db, DbTx, Prisma } from '../../db.js';
import { recordEvents } from '../../events/outbox.js';
import type { Subscription } from '../../generated/prisma/client.js';
import { ConflictError, NotFoundError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { paginate, type Page } from '../../lib/pagination.js';
import type { Scope, WriteContext } from '../../lib/scope.js';
import { lockBillableCustomer, lockCustomerRows, lockForUpdate } from '../billing.customer.js';
import { summarize } from '../../lib/summary.js';
import { inBatches, type SagaStepOptions } from '../billing.saga.js';
import { chargedForLine, type CreditNoteLedger, type NewCreditNote } from '../credit-notes/credit-note.ledger.js';
import { createInvoices, finalizeInvoices, type NewInvoice } from '../invoices/invoice.ledger.js';
import { addIntervals, isoDay, periodAt, prorate } from './subscription.periods.js';
import type { CreateSubscriptionBody, ListSubscriptionsQuery, SubscriptionObject } from './subscription.schemas.js';
import { serializeSubscription } from './subscription.serializer.js';

interface Termination {
  terminated: number;
  canceled: number;
  closingInvoices: number;
  creditNotes: number;
  subscriptions: Subscription[];
}

/**
 * Subscriptions to a plan, billed per period in advance or in arrears. Ending one (cancel, or the
 * deletion saga) settles the period it is in: a closing invoice for the elapsed days of an
 * in-arrears subscription, a credit note for the unused days of an in-advance one.
 */
export class SubscriptionService {
  constructor(private readonly deps: { db: Db; customers: CustomerService; creditNotes: CreditNoteLedger; batchSize: number }) {}

  /** An active in-advance subscription is invoiced for its current period at once. */
  async create(write: WriteContext<SubscriptionObject>, body: CreateSubscriptionBody): Promise<SubscriptionObject> {
    return this.deps.db.$transaction(async (tx) => {
      const customer = await lockBillableCustomer(tx, write, body.customer_id, { currency: body.currency });
      const now = new Date();
      const start = body.start_date ?? now;
      const pending = start > now;
      const period = pending ? { start, end: addIntervals(start, body.interval, 1) } : periodAt(start, body.interval, now);
      const subscription = await tx.subscription.create({
        data: {
          id: newId('subscription'),
          merchantId: write.merchantId,
          environment: write.environment,
          customerId: customer.id,
          planCode: body.plan_code,
          amount: BigInt(body.amount),
          currency: body.currency,
          interval: body.interval,
          billingTime: body.billing_time,
          status: pending ? 'pending' : 'active',
          currentPeriodStart: period.start,
          currentPeriodEnd: period.end,
          createdAt: now,
          updatedAt: now,
        },
      });
      const result = serializeSubscription(subscription);
      await recordEvents(tx, write, [{ type: 'subscription.created', object: result, customerId: customer.id }]);
      if (subscription.status === 'active' && subscription.billingTime === 'in_advance' && subscription.amount > 0n) {
        const line = {
          description: `${subscription.planCode} (${isoDay(period.start)} – ${isoDay(period.end)})`,
          quantity: 1,
          unitAmount: subscription.amount,
          subscriptionId: subscription.id,
          periodStart: period.start,
          periodEnd: period.end,
        };
        const drafts = await createInvoices(
          tx,
          write,
          [{ customerId: customer.id, currency: subscription.currency, invoiceType: 'subscription', lines: [line] }],
          now,
        );
        await finalizeInvoices(tx, write, drafts, now);
      }
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  /** Ends a subscription now: a pending one is canceled, an active one terminated and settled. */
  async cancel(write: WriteContext<SubscriptionObject>, id: string): Promise<SubscriptionObject> {
    return this.deps.db.$transaction(async (tx) => {
      const [locked] = await lockForUpdate(tx, 'subscriptions', write, [id]);
      if (!locked) throw new NotFoundError('subscription', id, 'id');
      const subscription = await tx.subscription.findUniqueOrThrow({ where: { id: locked } });
      if (subscription.status !== 'active' && subscription.status !== 'pending') {
        throw new ConflictError(`Subscription ${subscription.id} is already ${subscription.status}`, 'id');
      }
      const { subscriptions } = await this.terminate(tx, [subscription], new Date(), { finalizeClosingInvoices: true });
      const result = serializeSubscription(subscriptions[0]!);
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  /**
   * Deletion saga, step 1: every active subscription of the customer is terminated and settled,
   * every pending one canceled. Closing invoices stay drafts: step 3 finalizes them with the
   * other drafts, applying wallet credits before step 4 voids what is left.
   */
  async terminateForCustomer(customerId: string, options?: SagaStepOptions): Promise<string> {
    const totals = { terminated: 0, canceled: 0, closingInvoices: 0, creditNotes: 0 };
    await inBatches(
      this.deps.db,
      this.deps.batchSize,
      async (tx, limit) => {
        const ids = await lockCustomerRows(tx, 'subscriptions', customerId, ['active', 'pending'], limit);
        const subscriptions = await tx.subscription.findMany({ where: { id: { in: ids } }, orderBy: { id: 'asc' } });
        const done = await this.terminate(tx, subscriptions, new Date(), { finalizeClosingInvoices: false });
        totals.terminated += done.terminated;
        totals.canceled += done.canceled;
        totals.closingInvoices += done.closingInvoices;
        totals.creditNotes += done.creditNotes;
        return ids.length;
      },
      options,
    );
    return summarize([
      [totals.terminated, 'subscriptions terminated'],
      [totals.canceled, 'canceled'],
      [totals.closingInvoices, 'closing invoices'],
      [totals.creditNotes, 'credit notes'],
    ]);
  }

  async get(scope: Scope, id: string): Promise<SubscriptionObject> {
    const subscription = await this.deps.db.subscription.findFirst({ where: { id, ...tenant(scope) } });
    if (!subscription) throw new NotFoundError('subscription', id, 'id');
    return serializeSubscription(subscription);
  }

  async list(scope: Scope, query: ListSubscriptionsQuery): Promise<Page<SubscriptionObject>> {
    const where: Prisma.SubscriptionWhereInput = {
      ...tenant(scope),
      ...(query.customer_id !== undefined && { customerId: query.customer_id }),
      ...(query.status !== undefined && { status: query.status }),
      ...(query.plan_code !== undefined && { planCode: query.plan_code }),
    };
    return paginate(this.deps.db.subscription, where, query, serializeSubscription);
  }

  async listForCustomer(scope: Scope, customerId: string, query: Omit<ListSubscriptionsQuery, 'customer_id'>): Promise<Page<SubscriptionObject>> {
    const customer = await this.deps.customers.find(this.deps.db, scope, customerId);
    return this.list(scope, { ...query, customer_id: customer.id });
  }

  /**
   * Ends locked active or pending subscriptions of one tenant at `now`, set-based: their status,
   * the closing invoices of in-arrears ones (elapsed days), the credit notes of in-advance ones
   * (what the period's invoice charged for the subscription after coupons x unused days / period
   * days, rounded down, never more than that invoice billed minus its earlier credit notes), and
   * the events of all of it.
   */
  private async terminate(
    tx: DbTx,
    subscriptions: Subscription[],
    now: Date,
    options: { finalizeClosingInvoices: boolean },
  ): Promise<Termination> {
    const open = subscriptions.filter((s) => s.status === 'active' || s.status === 'pending');
    if (open.length === 0) return { terminated: 0, canceled: 0, closingInvoices: 0, creditNotes: 0, subscriptions: [] };
    const scope = open[0]!;
    const pending = open.filter((s) => s.status === 'pending');
    const active = open.filter((s) => s.status === 'active');
    if (pending.length > 0) {
      await tx.subscription.updateMany({ where: { id: { in: pending.map((s) => s.id) } }, data: { status: 'canceled', canceledAt: now, updatedAt: now } });
    }
    if (active.length > 0) {
      await tx.subscription.updateMany({ where: { id: { in: active.map((s) => s.id) } }, data: { status: 'terminated', terminatedAt: now, updatedAt: now } });
    }
    const ended = open.map((s): Subscription =>
      s.status === 'pending'
        ? { ...s, status: 'canceled', canceledAt: now, updatedAt: now }
        : { ...s, status: 'terminated', terminatedAt: now, updatedAt: now },
    );
    await recordEvents(
      tx,
      scope,
      ended.map((s) => ({
        type: s.status === 'canceled' ? 'subscription.canceled' : 'subscription.terminated',
        object: serializeSubscription(s),
        customerId: s.customerId,
      })),
    );

    const closing: NewInvoice[] = [];
    for (const s of active.filter((s) => s.billingTime === 'in_arrears')) {
      const split = prorate(s.amount, { start: s.currentPeriodStart, end: s.currentPeriodEnd }, now);
      if (split.used === 0n) continue;
      closing.push({
        customerId: s.customerId,
        currency: s.currency,
        invoiceType: 'subscription',
        lines: [
          {
            description: `${s.planCode} (${isoDay(s.currentPeriodStart)} – ${isoDay(now)}, ${split.periodDays - split.remainingDays} of ${split.periodDays} days)`,
            quantity: 1,
            unitAmount: split.used,
            subscriptionId: s.id,
            periodStart: s.currentPeriodStart,
            periodEnd: now,
          },
        ],
      });
    }
    const drafts = await createInvoices(tx, scope, closing, now);
    if (options.finalizeClosingInvoices) await finalizeInvoices(tx, scope, drafts, now);

    const creditNotes = await this.creditUnusedTime(tx, scope, active.filter((s) => s.billingTime === 'in_advance'), now);
    return {
      terminated: active.length,
      canceled: pending.length,
      closingInvoices: drafts.length,
      creditNotes: creditNotes.length,
      subscriptions: ended,
    };
  }

  private async creditUnusedTime(tx: DbTx, scope: Scope, subscriptions: Subscription[], now: Date) {
    if (subscriptions.length === 0) return [];
    const billed = await tx.invoiceLine.findMany({
      where: {
        subscriptionId: { in: subscriptions.map((s) => s.id) },
        invoice: { status: 'finalized', invoiceType: 'subscription' },
      },
      orderBy: { id: 'asc' },
    });
    const invoiceIds = await lockForUpdate(tx, 'invoices', scope, [...new Set(billed.map((line) => line.invoiceId))]);
    const invoices = new Map((await tx.invoice.findMany({ where: { id: { in: invoiceIds } } })).map((invoice) => [invoice.id, invoice]));
    const creditable = await this.deps.creditNotes.creditableAmounts(tx, [...invoices.values()]);
    const notes: NewCreditNote[] = [];
    for (const s of subscriptions) {
      const line = billed.find((l) => l.subscriptionId === s.id && l.periodStart?.getTime() === s.currentPeriodStart.getTime());
      const invoice = line && invoices.get(line.invoiceId);
      if (!line || !invoice) continue;
      // The unused part of what the period's invoice charged for it, after coupons, not of the list price.
      const charged = chargedForLine(invoice, line);
      const split = prorate(charged, { start: s.currentPeriodStart, end: s.currentPeriodEnd }, now);
      const left = creditable.get(invoice.id)!;
      const amount = [split.unused, charged, left].reduce((a, b) => (a < b ? a : b));
      if (amount <= 0n) continue;
      creditable.set(invoice.id, left - amount);
      notes.push({
        invoice,
        amount,
        reason: 'order_cancellation',
        description: `Unused time of ${s.planCode}: ${split.remainingDays} of ${split.periodDays} days`,
        subscriptionId: s.id,
      });
    }
    return this.deps.creditNotes.issue(tx, scope, notes, now);
  }
}

const tenant = (scope: Scope) => ({ merchantId: scope.merchantId, environment: scope.environment });
