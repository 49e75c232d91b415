import { Prisma, type Db } from '../db.js';
import type { Environment } from '../generated/prisma/enums.js';
import type { CustomerStats, StatsRollup } from '../generated/prisma/client.js';
import type { Scope } from '../lib/scope.js';

/** A stats row with its customer, in the order of lifetime value. */
export type RankedRow = CustomerStats & { email: string | null; name: string | null };

export interface CurrencyTotals {
  currency: string;
  total_spent: bigint;
  payment_count: bigint;
  customers_with_payments: number;
  mrr: bigint;
  active_subscriptions: number;
  computed_at: Date;
}

/** One currency's stats rows of a merchant's environment. */
export interface StatsList extends Scope {
  currency: string;
}

export interface DigestRecipient {
  merchant_id: string;
  environment: Environment;
  timezone: string;
}

/** The reads of analytics and its digests: `customer_stats` (written by the stats store) and what they join. */
export class AnalyticsStore {
  constructor(private readonly db: Db) {}

  async statsOf(list: StatsList, customerId: string): Promise<CustomerStats | null> {
    return this.db.customerStats.findFirst({ where: { ...inList(list), customerId } });
  }

  async countStats(list: StatsList): Promise<number> {
    return this.db.customerStats.count({ where: inList(list) });
  }

  /** Up to `limit` rows by lifetime value, highest first, after `cursor` when given (keyset on total_spent, customer id). */
  async ranked(list: StatsList, limit: number, cursor: Pick<CustomerStats, 'totalSpent' | 'customerId'> | null): Promise<RankedRow[]> {
    const after = cursor ? Prisma.sql`AND (s.total_spent, s.customer_id) < (${cursor.totalSpent}, ${cursor.customerId})` : Prisma.empty;
    return this.db.$queryRaw<RankedRow[]>`
      SELECT s.customer_id AS "customerId", s.currency, s.merchant_id AS "merchantId", s.environment,
             s.total_spent AS "totalSpent", s.payment_count AS "paymentCount", s.average_payment AS "averagePayment",
             s.first_payment_at AS "firstPaymentAt", s.last_payment_at AS "lastPaymentAt", s.mrr,
             s.active_subscriptions AS "activeSubscriptions", s.subscription_status AS "subscriptionStatus",
             s.invoice_count AS "invoiceCount", s.computed_at AS "computedAt", c.email, c.name
      FROM customer_stats s JOIN customers c ON c.id = s.customer_id
      WHERE s.merchant_id = ${list.merchantId} AND s.environment = ${list.environment}::"Environment"
        AND s.currency = ${list.currency} ${after}
      ORDER BY s.total_spent DESC, s.customer_id DESC
      LIMIT ${limit}`;
  }

  /** Totals per currency, in currency order. */
  async currencyTotals(scope: Scope): Promise<CurrencyTotals[]> {
    return this.db.$queryRaw<CurrencyTotals[]>`
      SELECT currency, sum(total_spent)::bigint AS total_spent, sum(payment_count)::bigint AS payment_count,
             count(*) FILTER (WHERE payment_count > 0)::int AS customers_with_payments, sum(mrr)::bigint AS mrr,
             sum(active_subscriptions)::int AS active_subscriptions, max(computed_at) AS computed_at
      FROM customer_stats WHERE ${inTenant(scope)}
      GROUP BY currency ORDER BY currency`;
  }

  /** Customers with a payment in any currency. */
  async payingCustomers(scope: Scope): Promise<number> {
    const [paying] = await this.db.$queryRaw<{ count: number }[]>`
      SELECT count(DISTINCT customer_id)::int AS count FROM customer_stats WHERE ${inTenant(scope)} AND payment_count > 0`;
    return paying?.count ?? 0;
  }

  async liveCustomers(scope: Scope): Promise<number> {
    return this.db.customer.count({ where: { merchantId: scope.merchantId, environment: scope.environment, deletedAt: null } });
  }

  async rollup(id: string): Promise<StatsRollup> {
    return this.db.statsRollup.findUniqueOrThrow({ where: { id } });
  }

  /** The environments in the rollup's scope with stats and a notification address, with their time zone. */
  async digestRecipients(rollup: Pick<StatsRollup, 'merchantId' | 'environment'>): Promise<DigestRecipient[]> {
    return this.db.$queryRaw<DigestRecipient[]>`
      SELECT ms.merchant_id, ms.environment, ms.timezone
      FROM merchant_settings ms
      WHERE ms.notification_email IS NOT NULL
        AND (${rollup.merchantId}::text IS NULL OR ms.merchant_id = ${rollup.merchantId})
        AND (${rollup.environment}::text IS NULL OR ms.environment::text = ${rollup.environment})
        AND EXISTS (SELECT 1 FROM customer_stats s WHERE s.merchant_id = ms.merchant_id AND s.environment = ms.environment)
      ORDER BY ms.merchant_id, ms.environment`;
  }
}

const inList = (list: StatsList) => ({ merchantId: list.merchantId, environment: list.environment, currency: list.currency });

function inTenant(scope: Scope): Prisma.Sql {
  return Prisma.sql`merchant_id = ${scope.merchantId} AND environment = ${scope.environment}::"Environment"`;
}
