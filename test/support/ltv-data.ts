import fc from 'fast-check';
import type { Db } from '../../src/db.js';
import { newId } from '../../src/lib/ids.js';
import type { Scope } from '../../src/lib/scope.js';
import type { OracleInvoice, OraclePayment, OracleSubscription } from './ltv-oracle.js';

// Random billing data for LTV tests, inserted with Prisma as the billing API would leave it.

export interface ScenarioPayment {
  customer: number;
  amount: number;
  currency: string;
  status: OraclePayment['status'];
  /** Percent refunded of a partially refunded payment. */
  refundedPercent: number;
  createdAt: Date;
  /** Some paid payments carry no paid_at: the creation time stands in. */
  withPaidAt: boolean;
}

export interface ScenarioSubscription {
  customer: number;
  amount: number;
  currency: string;
  interval: OracleSubscription['interval'];
  status: OracleSubscription['status'];
}

export interface ScenarioInvoice {
  customer: number;
  currency: string;
  status: OracleInvoice['status'];
}

export interface Scenario {
  customers: { deleted: boolean }[];
  payments: ScenarioPayment[];
  subscriptions: ScenarioSubscription[];
  invoices: ScenarioInvoice[];
}

export interface InsertedScenario {
  customerIds: string[];
  liveCustomerIds: string[];
  payments: OraclePayment[];
  subscriptions: OracleSubscription[];
  invoices: OracleInvoice[];
}

const currency = fc.constantFrom('USD', 'EUR', 'JPY');
const date = fc.date({ min: new Date('2024-01-01T00:00:00Z'), max: new Date('2026-06-30T00:00:00Z'), noInvalidDate: true });

/** Scenarios with up to `max` (and at least `min`) of each kind of row; about one customer in five deleted. */
export function scenarioArbitrary(limits: {
  customers: number;
  payments: number;
  subscriptions: number;
  /** Invoices: up to as many as subscriptions unless given. */
  invoices?: number;
  min?: { customers?: number; payments?: number };
}): fc.Arbitrary<Scenario> {
  return fc.record({
    customers: fc.array(fc.record({ deleted: fc.integer({ min: 0, max: 4 }).map((n) => n === 0) }), {
      minLength: limits.min?.customers ?? 1,
      maxLength: limits.customers,
      size: 'max',
    }),
    payments: fc.array(
      fc.record({
        customer: fc.nat(),
        amount: fc.integer({ min: 2, max: 5_000_000 }),
        currency,
        status: fc.constantFrom('pending', 'succeeded', 'failed', 'refunded', 'partially_refunded'),
        refundedPercent: fc.integer({ min: 1, max: 99 }),
        createdAt: date,
        withPaidAt: fc.boolean(),
      }),
      { minLength: limits.min?.payments ?? 0, maxLength: limits.payments, size: 'max' },
    ),
    subscriptions: fc.array(
      fc.record({
        customer: fc.nat(),
        amount: fc.integer({ min: 1, max: 500_000 }),
        currency,
        interval: fc.constantFrom('month', 'year'),
        status: fc.constantFrom('pending', 'active', 'terminated', 'canceled'),
      }),
      { maxLength: limits.subscriptions, size: 'max' },
    ),
    invoices: fc.array(
      fc.record({ customer: fc.nat(), currency, status: fc.constantFrom('draft', 'finalized', 'voided') }),
      { maxLength: limits.invoices ?? limits.subscriptions, size: 'max' },
    ),
  });
}

/** Inserts a scenario for one merchant: customers, payments with their refunds, subscriptions, invoices. */
export async function insertScenario(db: Db, scope: Scope, scenario: Scenario): Promise<InsertedScenario> {
  const tenant = { merchantId: scope.merchantId, environment: scope.environment };
  const customers = scenario.customers.map((customer) => ({
    id: newId('customer'),
    ...tenant,
    status: customer.deleted ? ('deleted' as const) : ('active' as const),
    deletedAt: customer.deleted ? new Date() : null,
  }));
  const customerAt = (index: number) => customers[index % customers.length]!.id;
  const payments = scenario.payments.map((payment) => {
    const amount = BigInt(payment.amount);
    const refunded =
      payment.status === 'refunded' ? amount : payment.status === 'partially_refunded' ? (amount * BigInt(payment.refundedPercent)) / 100n || 1n : 0n;
    const paid = payment.status === 'succeeded' || payment.status === 'refunded' || payment.status === 'partially_refunded';
    return {
      id: newId('payment'),
      ...tenant,
      customerId: customerAt(payment.customer),
      amount,
      amountRefunded: refunded,
      currency: payment.currency,
      status: payment.status,
      source: 'api' as const,
      paidAt: paid && payment.withPaidAt ? new Date(payment.createdAt.getTime() + 60_000) : null,
      createdAt: payment.createdAt,
    };
  });
  // A refunded amount may come in two refunds: what counts is the payment's amount_refunded.
  const refunds = payments
    .filter((payment) => payment.amountRefunded > 0n)
    .flatMap((payment) => {
      const first = payment.amountRefunded / 2n;
      return [first, payment.amountRefunded - first]
        .filter((amount) => amount > 0n)
        .map((amount) => ({ id: newId('refund'), ...tenant, paymentId: payment.id, amount }));
    });
  const subscriptions = scenario.subscriptions.map((subscription) => ({
    id: newId('subscription'),
    ...tenant,
    customerId: customerAt(subscription.customer),
    planCode: 'plan',
    amount: BigInt(subscription.amount),
    currency: subscription.currency,
    interval: subscription.interval,
    billingTime: 'in_advance' as const,
    status: subscription.status,
    currentPeriodStart: new Date('2026-01-01T00:00:00Z'),
    currentPeriodEnd: new Date('2026-02-01T00:00:00Z'),
  }));
  const invoices = scenario.invoices.map((invoice) => ({
    id: newId('invoice'),
    ...tenant,
    customerId: customerAt(invoice.customer),
    currency: invoice.currency,
    status: invoice.status,
    invoiceType: 'one_off' as const,
  }));
  await db.$transaction([
    db.customer.createMany({ data: customers }),
    db.payment.createMany({ data: payments }),
    db.refund.createMany({ data: refunds }),
    db.subscription.createMany({ data: subscriptions }),
    db.invoice.createMany({ data: invoices }),
  ]);
  return {
    customerIds: customers.map((customer) => customer.id),
    liveCustomerIds: customers.filter((customer) => customer.status === 'active').map((customer) => customer.id),
    payments,
    subscriptions,
    invoices,
  };
}
