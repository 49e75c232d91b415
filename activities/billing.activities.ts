import { Context } from '@temporalio/activity';
import type { CouponService } from '../src/billing/coupons/coupon.service.js';
import type { InvoiceService } from '../src/billing/invoices/invoice.service.js';
import type { SubscriptionService } from '../src/billing/subscriptions/subscription.service.js';
import type { WalletService } from '../src/billing/wallets/wallet.service.js';
import { asActivity } from './failures.js';

export interface BillingActivityDeps {
  subscriptions: Pick<SubscriptionService, 'terminateForCustomer'>;
  coupons: Pick<CouponService, 'terminateForCustomer'>;
  invoices: Pick<InvoiceService, 'finalizeDraftsForCustomer'>;
  wallets: Pick<WalletService, 'terminateForCustomer'>;
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
export const createBillingActivities = ({ subscriptions, coupons, invoices, wallets }: BillingActivityDeps) => ({
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
});
