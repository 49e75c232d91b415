import type { CustomerService } from '../../customers/customer.service.js';
import type { Db } from '../../db.js';
import { recordEvents } from '../../events/outbox.js';
import { ConflictError, NotFoundError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { Page } from '../../lib/pagination.js';
import type { Scope, WriteContext } from '../../lib/scope.js';
import { lockBillableCustomer } from '../billing.customer.js';
import type { InvoiceLedger } from '../invoices/invoice.ledger.js';
import type { SubscriptionLedger } from './subscription.ledger.js';
import { addIntervals, isoDay, periodAt } from './subscription.periods.js';
import type { CreateSubscriptionBody, ListSubscriptionsQuery, SubscriptionObject } from './subscription.schemas.js';
import { serializeSubscription } from './subscription.serializer.js';
import type { SubscriptionStore } from './subscription.store.js';

/**
 * Subscriptions to a plan, billed per period in advance or in arrears. Ending one (cancel, or the
 * deletion saga) settles the period it is in: a closing invoice for the elapsed days of an
 * in-arrears subscription, a credit note for the unused days of an in-advance one.
 */
export class SubscriptionService {
  constructor(
    private readonly deps: { db: Db; customers: CustomerService; store: SubscriptionStore; ledger: SubscriptionLedger; invoices: InvoiceLedger },
  ) {}

  /** An active in-advance subscription is invoiced for its current period at once. */
  async create(write: WriteContext<SubscriptionObject>, body: CreateSubscriptionBody): Promise<SubscriptionObject> {
    return this.deps.db.$transaction(async (tx) => {
      const customer = await lockBillableCustomer(tx, write, body.customer_id, { currency: body.currency });
      const now = new Date();
      const start = body.start_date ?? now;
      const pending = start > now;
      const period = pending ? { start, end: addIntervals(start, body.interval, 1) } : periodAt(start, body.interval, now);
      const subscription = await this.deps.store.create(
        {
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
        tx,
      );
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
        const drafts = await this.deps.invoices.create(
          tx,
          write,
          [{ customerId: customer.id, currency: subscription.currency, invoiceType: 'subscription', lines: [line] }],
          now,
        );
        await this.deps.invoices.finalize(tx, write, drafts, now);
      }
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  /** Ends a subscription now: a pending one is canceled, an active one terminated and settled. */
  async cancel(write: WriteContext<SubscriptionObject>, id: string): Promise<SubscriptionObject> {
    return this.deps.db.$transaction(async (tx) => {
      const subscription = await this.deps.store.lock(write, id, tx);
      if (!subscription) throw new NotFoundError('subscription', id, 'id');
      if (subscription.status !== 'active' && subscription.status !== 'pending') {
        throw new ConflictError(`Subscription ${subscription.id} is already ${subscription.status}`, 'id');
      }
      const { subscriptions } = await this.deps.ledger.terminate(tx, [subscription], new Date(), { finalizeClosingInvoices: true });
      const result = serializeSubscription(subscriptions[0]!);
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  async get(scope: Scope, id: string): Promise<SubscriptionObject> {
    const subscription = await this.deps.store.find(scope, id);
    if (!subscription) throw new NotFoundError('subscription', id, 'id');
    return serializeSubscription(subscription);
  }

  async list(scope: Scope, query: ListSubscriptionsQuery): Promise<Page<SubscriptionObject>> {
    return this.deps.store.list(scope, query, serializeSubscription);
  }

  async listForCustomer(scope: Scope, customerId: string, query: Omit<ListSubscriptionsQuery, 'customer_id'>): Promise<Page<SubscriptionObject>> {
    const customer = await this.deps.customers.find(this.deps.db, scope, customerId);
    return this.list(scope, { ...query, customer_id: customer.id });
  }
}
