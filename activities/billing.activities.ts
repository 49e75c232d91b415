import { Context } from '@temporalio/activity';
import type { BillingLedgers } from '../src/billing/billing.ledgers.js';
import { CouponSteps } from '../src/billing/coupons/coupon.steps.js';
import type { CouponStore } from '../src/billing/coupons/coupon.store.js';
import { InvoiceSteps } from '../src/billing/invoices/invoice.steps.js';
import type { InvoiceStore } from '../src/billing/invoices/invoice.store.js';
import { SubscriptionSteps } from '../src/billing/subscriptions/subscription.steps.js';
import type { SubscriptionStore } from '../src/billing/subscriptions/subscription.store.js';
import { WalletSteps } from '../src/billing/wallets/wallet.steps.js';
import type { WalletStore } from '../src/billing/wallets/wallet.store.js';
import type { Db } from '../src/db.js';
import { asActivity } from './failures.js';

export interface BillingActivityDeps {
  db: Db;
  stores: { subscriptions: SubscriptionStore; coupons: CouponStore; invoices: InvoiceStore; wallets: WalletStore };
  /** How many objects a step changes per transaction, and the resources' bookkeeping. */
  billingSaga: { batchSize: number; ledgers: Pick<BillingLedgers, 'subscriptions' | 'coupons' | 'invoices' | 'wallets'> };
}

/** What a saga step reports after each batch, so a worker that died is noticed within the heartbeat timeout. */
const heartbeat = () => {
  const context = Context.current();
  return { heartbeat: () => context.heartbeat() };
};

/**
 * The billing steps of the customer-deletion saga, one per resource, each a set-based pass over
 * the customer's objects that does only what is left to do. Each returns a summary for the
 * deletion's progress.
 */
export const createBillingActivities = ({ db, stores, billingSaga: { batchSize, ledgers } }: BillingActivityDeps) => {
  const subscriptions = new SubscriptionSteps({ db, batchSize, store: stores.subscriptions, ledger: ledgers.subscriptions });
  const coupons = new CouponSteps({ db, batchSize, store: stores.coupons, ledger: ledgers.coupons });
  const invoices = new InvoiceSteps({ db, batchSize, store: stores.invoices, ledger: ledgers.invoices });
  const wallets = new WalletSteps({ db, batchSize, store: stores.wallets, ledger: ledgers.wallets });
  return {
    async terminateCustomerSubscriptions(customerId: string): Promise<string> {
      return asActivity(() => subscriptions.terminateForCustomer(customerId, heartbeat()));
    },
    async terminateCustomerCoupons(customerId: string): Promise<string> {
      return asActivity(() => coupons.terminateForCustomer(customerId, heartbeat()));
    },
    async finalizeCustomerDraftInvoices(customerId: string): Promise<string> {
      return asActivity(() => invoices.finalizeDraftsForCustomer(customerId, heartbeat()));
    },
    async terminateCustomerWallets(customerId: string): Promise<string> {
      return asActivity(() => wallets.terminateForCustomer(customerId, heartbeat()));
    },
  };
};
