import { CouponLedger } from './coupons/coupon.ledger.js';
import type { CouponStore } from './coupons/coupon.store.js';
import { CreditNoteLedger } from './credit-notes/credit-note.ledger.js';
import type { CreditNoteStore } from './credit-notes/credit-note.store.js';
import { InvoiceLedger } from './invoices/invoice.ledger.js';
import type { InvoiceStore } from './invoices/invoice.store.js';
import { SubscriptionLedger } from './subscriptions/subscription.ledger.js';
import type { SubscriptionStore } from './subscriptions/subscription.store.js';
import { WalletLedger } from './wallets/wallet.ledger.js';
import type { WalletStore } from './wallets/wallet.store.js';

export type BillingLedgers = ReturnType<typeof createBillingLedgers>;

/**
 * The bookkeeping of each billing resource inside a caller's transaction, built once on the
 * resources' stores and shared by the billing services and the deletion saga's billing steps.
 * Each ledger holds no SQL: its store writes its tables, another resource's through its ledger.
 */
export function createBillingLedgers(stores: {
  subscriptions: SubscriptionStore;
  invoices: InvoiceStore;
  creditNotes: CreditNoteStore;
  wallets: WalletStore;
  coupons: CouponStore;
}) {
  const coupons = new CouponLedger(stores.coupons);
  const wallets = new WalletLedger(stores.wallets);
  const invoices = new InvoiceLedger({ store: stores.invoices, coupons, wallets });
  const creditNotes = new CreditNoteLedger(stores.creditNotes);
  const subscriptions = new SubscriptionLedger({ store: stores.subscriptions, invoices, invoiceStore: stores.invoices, creditNotes });
  return { subscriptions, invoices, creditNotes, wallets, coupons };
}
