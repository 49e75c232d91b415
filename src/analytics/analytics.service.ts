import { serializeCurrencyStats } from '../customers/customer.serializer.js';
import type { CustomerStats } from '../generated/prisma/client.js';
import { ValidationError } from '../lib/errors.js';
import { wireInteger, minorUnitsToDecimal } from '../lib/money.js';
import type { Page } from '../lib/pagination.js';
import type { Scope } from '../lib/scope.js';
import type { AnalyticsSummary, CurrencySummary, CustomerLtv, TopCustomersQuery } from './analytics.schemas.js';
import type { AnalyticsStore, CurrencyTotals } from './analytics.store.js';

/** Integer division rounded half up, for non-negative amounts. */
const roundedQuotient = (amount: bigint, count: bigint) => (count === 0n ? 0n : (2n * amount + count) / (2n * count));

/**
 * The merchant's analytics, read from `customer_stats` only: the numbers are computed by the stats
 * subscriber and the nightly rollup, never on the request.
 */
export class AnalyticsService {
  constructor(private readonly deps: { store: AnalyticsStore }) {}

  /** Customers by lifetime value in one currency, keyset-paginated on (total_spent, customer id). */
  async topCustomers(scope: Scope, query: TopCustomersQuery): Promise<Page<CustomerLtv>> {
    const { store } = this.deps;
    const inList = { merchantId: scope.merchantId, environment: scope.environment, currency: query.currency };
    let cursor: CustomerStats | null = null;
    if (query.starting_after !== undefined) {
      cursor = await store.statsOf(inList, query.starting_after);
      if (!cursor) throw ValidationError.field('starting_after', `No such customer in this list: '${query.starting_after}'`);
    }
    const [rows, total] = await Promise.all([store.ranked(inList, query.limit + 1, cursor), store.countStats(inList)]);
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
    const { store } = this.deps;
    const [currencies, withPayments, customers] = await Promise.all([
      store.currencyTotals(scope),
      store.payingCustomers(scope),
      store.liveCustomers(scope),
    ]);
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
