import { serializeCurrencyStats } from '../customers/customer.serializer.js';
import { Prisma, type Db } from '../db.js';
import type { CustomerStats } from '../generated/prisma/client.js';
import { ValidationError } from '../lib/errors.js';
import { wireInteger, minorUnitsToDecimal } from '../lib/money.js';
import type { Page } from '../lib/pagination.js';
import type { Scope } from '../lib/scope.js';
import type { AnalyticsSummary, CurrencySummary, CustomerLtv, TopCustomersQuery } from './analytics.schemas.js';

type RankedRow = CustomerStats & { email: string | null; name: string | null };

interface CurrencyTotals {
  currency: string;
  total_spent: bigint;
  payment_count: bigint;
  customers_with_payments: number;
  mrr: bigint;
  active_subscriptions: number;
  computed_at: Date;
}

/** Integer division rounded half up, for non-negative amounts. */
const roundedQuotient = (amount: bigint, count: bigint) => (count === 0n ? 0n : (2n * amount + count) / (2n * count));

/**
 * The merchant's analytics, read from `customer_stats` only: the numbers are computed by the stats
 * subscriber and the nightly rollup, never on the request.
 */
export class AnalyticsService {
  constructor(private readonly deps: { db: Db }) {}

  /** Customers by lifetime value in one currency, keyset-paginated on (total_spent, customer id). */
  async topCustomers(scope: Scope, query: TopCustomersQuery): Promise<Page<CustomerLtv>> {
    const { db } = this.deps;
    const inList = { merchantId: scope.merchantId, environment: scope.environment, currency: query.currency };
    let after = Prisma.empty;
    if (query.starting_after !== undefined) {
      const cursor = await db.customerStats.findFirst({ where: { ...inList, customerId: query.starting_after } });
      if (!cursor) throw ValidationError.field('starting_after', `No such customer in this list: '${query.starting_after}'`);
      after = Prisma.sql`AND (s.total_spent, s.customer_id) < (${cursor.totalSpent}, ${cursor.customerId})`;
    }
    const [rows, total] = await Promise.all([
      db.$queryRaw<RankedRow[]>`
        SELECT s.customer_id AS "customerId", s.currency, s.merchant_id AS "merchantId", s.environment,
               s.total_spent AS "totalSpent", s.payment_count AS "paymentCount", s.average_payment AS "averagePayment",
               s.first_payment_at AS "firstPaymentAt", s.last_payment_at AS "lastPaymentAt", s.mrr,
               s.active_subscriptions AS "activeSubscriptions", s.subscription_status AS "subscriptionStatus",
               s.invoice_count AS "invoiceCount", s.computed_at AS "computedAt", c.email, c.name
        FROM customer_stats s JOIN customers c ON c.id = s.customer_id
        WHERE s.merchant_id = ${scope.merchantId} AND s.environment = ${scope.environment}::"Environment"
          AND s.currency = ${query.currency} ${after}
        ORDER BY s.total_spent DESC, s.customer_id DESC
        LIMIT ${query.limit + 1}`,
      db.customerStats.count({ where: inList }),
    ]);
    return {
      object: 'list',
      data: rows.slice(0, query.limit).map((row) => ({
        object: 'customer_ltv',
        customer_id: row.customerId,
        email: row.email,
        name: row.name,
        ...serializeCurrencyStats(row),
      })),
      total,
      has_more: rows.length > query.limit,
    };
  }

  /** Merchant totals per currency, and how many customers have paid. */
  async summary(scope: Scope): Promise<AnalyticsSummary> {
    const { db } = this.deps;
    const where = Prisma.sql`merchant_id = ${scope.merchantId} AND environment = ${scope.environment}::"Environment"`;
    const [currencies, [paying], customers] = await Promise.all([
      db.$queryRaw<CurrencyTotals[]>`
        SELECT currency, sum(total_spent)::bigint AS total_spent, sum(payment_count)::bigint AS payment_count,
               count(*) FILTER (WHERE payment_count > 0)::int AS customers_with_payments, sum(mrr)::bigint AS mrr,
               sum(active_subscriptions)::int AS active_subscriptions, max(computed_at) AS computed_at
        FROM customer_stats WHERE ${where}
        GROUP BY currency ORDER BY currency`,
      db.$queryRaw<{ count: number }[]>`
        SELECT count(DISTINCT customer_id)::int AS count FROM customer_stats WHERE ${where} AND payment_count > 0`,
      db.customer.count({ where: { merchantId: scope.merchantId, environment: scope.environment, deletedAt: null } }),
    ]);
    const withPayments = paying?.count ?? 0;
    const latest = currencies.reduce<Date | null>((max, row) => (!max || row.computed_at > max ? row.computed_at : max), null);
    return {
      object: 'analytics_summary',
      customers: { total: customers, with_payments: withPayments, without_payments: Math.max(customers - withPayments, 0) },
      active_subscriptions: currencies.reduce((sum, row) => sum + row.active_subscriptions, 0),
      currencies: currencies.map(summarizeCurrency),
      computed_at: latest?.toISOString() ?? null,
    };
  }
}

function summarizeCurrency(row: CurrencyTotals): CurrencySummary {
  const average = roundedQuotient(row.total_spent, row.payment_count);
  return {
    currency: row.currency,
    total_spent: wireInteger(row.total_spent),
    total_spent_decimal: minorUnitsToDecimal(row.total_spent, row.currency),
    payment_count: wireInteger(row.payment_count),
    average_payment: wireInteger(average),
    average_payment_decimal: minorUnitsToDecimal(average, row.currency),
    customers_with_payments: row.customers_with_payments,
    mrr: wireInteger(row.mrr),
    mrr_decimal: minorUnitsToDecimal(row.mrr, row.currency),
    active_subscriptions: row.active_subscriptions,
  };
}
