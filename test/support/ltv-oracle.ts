import type { Db } from '../../src/db.js';

// An independent computation of customer stats, in TypeScript over the rows a test inserted, to
// compare with what the SQL wrote.

export interface OraclePayment {
  customerId: string | null;
  amount: bigint;
  amountRefunded: bigint;
  currency: string;
  status: 'pending' | 'succeeded' | 'failed' | 'refunded' | 'partially_refunded';
  paidAt: Date | null;
  createdAt: Date;
}

export interface OracleSubscription {
  customerId: string;
  amount: bigint;
  currency: string;
  interval: 'month' | 'year';
  status: 'pending' | 'active' | 'terminated' | 'canceled';
}

export interface OracleInvoice {
  customerId: string;
  currency: string;
  status: 'draft' | 'finalized' | 'voided';
}

/** A stats row as the tests compare it: every figure, without the time it was computed. */
export interface ComparableStats {
  customerId: string;
  currency: string;
  totalSpent: bigint;
  paymentCount: number;
  averagePayment: bigint;
  firstPaymentAt: string | null;
  lastPaymentAt: string | null;
  mrr: bigint;
  activeSubscriptions: number;
  subscriptionStatus: 'none' | 'active' | 'canceled';
  invoiceCount: number;
}

const PAID = new Set(['succeeded', 'partially_refunded', 'refunded']);
const key = (row: ComparableStats) => `${row.customerId}/${row.currency}`;

/** The rows customer_stats must hold for these live customers, sorted by customer and currency. */
export function expectedStats(
  liveCustomerIds: string[],
  payments: OraclePayment[],
  subscriptions: OracleSubscription[],
  invoices: OracleInvoice[],
): ComparableStats[] {
  const live = new Set(liveCustomerIds);
  const rows = new Map<string, ComparableStats & { twelfths: bigint; anySubscription: boolean }>();
  const rowFor = (customerId: string, currency: string) => {
    const id = `${customerId}/${currency}`;
    let row = rows.get(id);
    if (!row) {
      row = {
        customerId,
        currency,
        totalSpent: 0n,
        paymentCount: 0,
        averagePayment: 0n,
        firstPaymentAt: null,
        lastPaymentAt: null,
        mrr: 0n,
        activeSubscriptions: 0,
        subscriptionStatus: 'none',
        invoiceCount: 0,
        twelfths: 0n,
        anySubscription: false,
      };
      rows.set(id, row);
    }
    return row;
  };
  for (const payment of payments) {
    if (!payment.customerId || !live.has(payment.customerId) || !PAID.has(payment.status)) continue;
    const row = rowFor(payment.customerId, payment.currency);
    row.totalSpent += payment.amount - payment.amountRefunded;
    row.paymentCount += 1;
    const at = (payment.paidAt ?? payment.createdAt).toISOString();
    if (row.firstPaymentAt === null || at < row.firstPaymentAt) row.firstPaymentAt = at;
    if (row.lastPaymentAt === null || at > row.lastPaymentAt) row.lastPaymentAt = at;
  }
  for (const subscription of subscriptions) {
    if (!live.has(subscription.customerId) || subscription.status === 'pending') continue;
    const row = rowFor(subscription.customerId, subscription.currency);
    row.anySubscription = true;
    if (subscription.status === 'active') {
      row.activeSubscriptions += 1;
      row.twelfths += subscription.interval === 'month' ? subscription.amount * 12n : subscription.amount;
    }
  }
  // Every invoice counts, whatever its status (drafts and voided ones too).
  for (const invoice of invoices) {
    if (live.has(invoice.customerId)) rowFor(invoice.customerId, invoice.currency).invoiceCount += 1;
  }
  return [...rows.values()]
    .map(({ twelfths, anySubscription, ...row }) => ({
      ...row,
      // Half up: amounts are never negative.
      averagePayment: row.paymentCount === 0 ? 0n : (2n * row.totalSpent + BigInt(row.paymentCount)) / (2n * BigInt(row.paymentCount)),
      mrr: (twelfths + 6n) / 12n,
      subscriptionStatus: row.activeSubscriptions > 0 ? ('active' as const) : anySubscription ? ('canceled' as const) : ('none' as const),
    }))
    .sort((a, b) => key(a).localeCompare(key(b)));
}

/** What customer_stats holds for a merchant, in the same shape and order. */
export async function storedStats(db: Db, merchantId: string): Promise<ComparableStats[]> {
  const rows = await db.customerStats.findMany({ where: { merchantId } });
  return rows
    .map((row) => ({
      customerId: row.customerId,
      currency: row.currency,
      totalSpent: row.totalSpent,
      paymentCount: row.paymentCount,
      averagePayment: row.averagePayment,
      firstPaymentAt: row.firstPaymentAt?.toISOString() ?? null,
      lastPaymentAt: row.lastPaymentAt?.toISOString() ?? null,
      mrr: row.mrr,
      activeSubscriptions: row.activeSubscriptions,
      subscriptionStatus: row.subscriptionStatus,
      invoiceCount: row.invoiceCount,
    }))
    .sort((a, b) => key(a).localeCompare(key(b)));
}
