import type pg from 'pg';
import { newId } from '../src/lib/ids.js';

export interface SeedSize {
  customers: number;
  payments: number;
  subscriptions: number;
}

/** Reports how far a step is, for the progress bar. */
export type SeedProgress = (step: string, done: number, total: number) => void;

const CHUNK = 50_000;

/**
 * A uniform pseudo-random integer in [0, modulo) derived from the row number `g` and a salt: the
 * same seed gives the same data on every run, so benchmark runs compare like with like.
 */
const pick = (salt: number, modulo: number) => `(((hashint4(g * 7 + ${salt}) & 2147483647) % ${modulo}))`;

/**
 * Seeds one merchant with `size` customers (1% of them deleted), payments spread over them in every
 * status and three currencies (refunds recorded for the refunded ones), and subscriptions. Set-based:
 * customers from arrays of ids, payments and subscriptions from generate_series, in chunks.
 */
export async function seedLtvData(client: pg.ClientBase, merchantId: string, size: SeedSize, progress: SeedProgress): Promise<void> {
  await client.query(`INSERT INTO merchants (id, name) VALUES ($1, 'LTV benchmark') ON CONFLICT DO NOTHING`, [merchantId]);
  await client.query('CREATE TEMPORARY TABLE seed_customers (n int PRIMARY KEY, id text NOT NULL)');

  for (let from = 0; from < size.customers; from += CHUNK) {
    const ids = Array.from({ length: Math.min(CHUNK, size.customers - from) }, () => newId('customer'));
    await client.query(
      `WITH rows AS (SELECT id, $2::int + ordinality::int AS n FROM unnest($1::text[]) WITH ORDINALITY AS t(id)),
            seeded AS (INSERT INTO seed_customers SELECT n, id FROM rows)
       INSERT INTO customers (id, merchant_id, environment, status, email, created_at, updated_at, deleted_at)
       SELECT id, $3, 'sandbox', CASE WHEN n % 100 = 0 THEN 'deleted' ELSE 'active' END::"CustomerStatus",
              'customer' || n || '@bench.test', now(), now(), CASE WHEN n % 100 = 0 THEN now() END
       FROM rows`,
      [ids, from, merchantId],
    );
    progress('customers', from + ids.length, size.customers);
  }
  // Without statistics the planner takes the fresh tables for empty: it would join seed_customers by
  // nested loops, and plan the payments' foreign key checks on customers as sequential scans.
  await client.query('ANALYZE seed_customers, customers');

  for (let from = 1; from <= size.payments; from += CHUNK) {
    const to = Math.min(from + CHUNK - 1, size.payments);
    await client.query(
      `INSERT INTO payments (id, merchant_id, environment, customer_id, amount, amount_refunded, currency, status, source,
                             paid_at, created_at, updated_at)
       SELECT 'pay_' || lpad(g::text, 26, '0'), $3, 'sandbox', c.id, amount,
              CASE status WHEN 'refunded' THEN amount WHEN 'partially_refunded' THEN amount * (5 + ${pick(4, 90)}) / 100 ELSE 0 END,
              currency, status::"PaymentStatus", 'api',
              CASE WHEN status IN ('succeeded', 'partially_refunded', 'refunded') THEN created END, created, created
       FROM generate_series($1::int, $2::int) AS g
       JOIN seed_customers c ON c.n = 1 + ${pick(0, size.customers)}
       CROSS JOIN LATERAL (SELECT
         100 + ${pick(3, 1000)} * 97 AS amount,
         CASE WHEN ${pick(1, 1000)} < 800 THEN 'succeeded' WHEN ${pick(1, 1000)} < 850 THEN 'partially_refunded'
              WHEN ${pick(1, 1000)} < 880 THEN 'refunded' WHEN ${pick(1, 1000)} < 950 THEN 'failed' ELSE 'pending' END AS status,
         CASE WHEN ${pick(2, 10)} < 6 THEN 'USD' WHEN ${pick(2, 10)} < 9 THEN 'EUR' ELSE 'JPY' END AS currency,
         timestamptz '2024-01-01' + ${pick(5, 63_072_000)} * interval '1 second' AS created) AS v`,
      [from, to, merchantId],
    );
    progress('payments', to, size.payments);
  }
  await client.query(
    `INSERT INTO refunds (id, merchant_id, environment, payment_id, amount, created_at)
     SELECT 're_' || substr(id, 5), merchant_id, environment, id, amount_refunded, created_at + interval '1 day'
     FROM payments WHERE merchant_id = $1 AND amount_refunded > 0`,
    [merchantId],
  );

  await client.query(
    `INSERT INTO subscriptions (id, merchant_id, environment, customer_id, plan_code, amount, currency, interval, billing_time,
                                status, current_period_start, current_period_end, created_at, updated_at)
     SELECT 'sub_' || lpad(g::text, 26, '0'), $2, 'sandbox', c.id, 'plan', 500 + ${pick(3, 100)} * 100,
            CASE WHEN ${pick(2, 10)} < 6 THEN 'USD' ELSE 'EUR' END,
            (CASE WHEN ${pick(6, 10)} < 8 THEN 'month' ELSE 'year' END)::"BillingInterval", 'in_advance',
            (CASE WHEN ${pick(1, 100)} < 70 THEN 'active' WHEN ${pick(1, 100)} < 90 THEN 'canceled'
                  WHEN ${pick(1, 100)} < 95 THEN 'terminated' ELSE 'pending' END)::"SubscriptionStatus",
            now(), now() + interval '1 month', now(), now()
     FROM generate_series(1, $1::int) AS g
     JOIN seed_customers c ON c.n = 1 + ${pick(0, size.customers)}`,
    [size.subscriptions, merchantId],
  );
  progress('subscriptions', size.subscriptions, size.subscriptions);
  await client.query('DROP TABLE seed_customers');
  // As autovacuum would after a bulk load: planner statistics and a visibility map.
  await client.query('VACUUM ANALYZE customers, payments, refunds, subscriptions');
}
