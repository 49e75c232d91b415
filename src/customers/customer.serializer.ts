import type { Customer, CustomerStats as CustomerStatsRow } from '../generated/prisma/client.js';
import { wireInteger, minorUnitsToDecimal } from '../lib/money.js';
import type { CurrencyStats, CustomerObject } from './customer.schemas.js';

type Stats = NonNullable<CustomerObject['stats']>;

export function serializeCustomer(customer: Customer, stats?: Stats): CustomerObject {
  const address = {
    line1: customer.addressLine1,
    line2: customer.addressLine2,
    city: customer.addressCity,
    state: customer.addressState,
    postal_code: customer.addressPostalCode,
    country: customer.addressCountry,
  };
  return {
    id: customer.id,
    object: 'customer',
    environment: customer.environment,
    status: customer.status,
    external_id: customer.externalId,
    external_source: customer.externalSource,
    email: customer.email,
    phone: customer.phone,
    name: customer.name,
    tags: customer.tags,
    metadata: customer.metadata as CustomerObject['metadata'],
    address: Object.values(address).some((value) => value !== null) ? address : null,
    company_name: customer.companyName,
    tax_id: customer.taxId,
    description: customer.description,
    timezone: customer.timezone,
    currency: customer.currency,
    created: customer.createdAt.toISOString(),
    updated: customer.updatedAt.toISOString(),
    ...(stats ? { stats } : {}),
  };
}

export function serializeCurrencyStats(row: CustomerStatsRow): CurrencyStats {
  const currency = row.currency;
  return {
    currency,
    total_spent: wireInteger(row.totalSpent),
    total_spent_decimal: minorUnitsToDecimal(row.totalSpent, currency),
    payment_count: row.paymentCount,
    average_payment: wireInteger(row.averagePayment),
    average_payment_decimal: minorUnitsToDecimal(row.averagePayment, currency),
    first_payment_at: row.firstPaymentAt?.toISOString() ?? null,
    last_payment_at: row.lastPaymentAt?.toISOString() ?? null,
    mrr: wireInteger(row.mrr),
    mrr_decimal: minorUnitsToDecimal(row.mrr, currency),
    active_subscriptions: row.activeSubscriptions,
    subscription_status: row.subscriptionStatus,
    invoice_count: row.invoiceCount,
    computed_at: row.computedAt.toISOString(),
  };
}

const STATUS_RANK = { none: 0, canceled: 1, active: 2 } as const;
const earliest = (dates: (Date | null)[]) => dates.reduce<Date | null>((min, date) => (date && (!min || date < min) ? date : min), null);
const latest = (dates: (Date | null)[]) => dates.reduce<Date | null>((max, date) => (date && (!max || date > max) ? date : max), null);

/** A customer's stats rows (one per currency) as the `stats` expansion: per-currency figures and their roll-up. */
export function serializeCustomerStats(rows: CustomerStatsRow[]): Stats {
  const perCurrency = (value: (row: CustomerStatsRow) => bigint) =>
    Object.fromEntries(rows.map((row) => [row.currency, minorUnitsToDecimal(value(row), row.currency)]));
  return {
    total_spent: perCurrency((row) => row.totalSpent),
    payment_count: rows.reduce((sum, row) => sum + row.paymentCount, 0),
    invoice_count: rows.reduce((sum, row) => sum + row.invoiceCount, 0),
    first_payment_at: earliest(rows.map((row) => row.firstPaymentAt))?.toISOString() ?? null,
    last_payment_at: latest(rows.map((row) => row.lastPaymentAt))?.toISOString() ?? null,
    subscription_status: rows.reduce<Stats['subscription_status']>(
      (best, row) => (STATUS_RANK[row.subscriptionStatus] > STATUS_RANK[best] ? row.subscriptionStatus : best),
      'none',
    ),
    mrr: perCurrency((row) => row.mrr),
    computed_at: earliest(rows.map((row) => row.computedAt))?.toISOString() ?? null,
    currencies: rows.map(serializeCurrencyStats),
  };
}
