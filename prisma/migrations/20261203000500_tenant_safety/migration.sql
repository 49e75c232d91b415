-- Tenant safety (issue 23).
--
-- Stored Idempotency-Key replies name the customers they concern, so the erasure of a deleted
-- customer finds every one of them (a 409 naming it, a sequence preview rendered for it, an upsert
-- by its external id) by an index rather than by searching the reply's text.
ALTER TABLE "idempotency_records" ADD COLUMN "customer_ids" TEXT[] DEFAULT ARRAY[]::TEXT[];
CREATE INDEX "idempotency_records_customer_ids_idx" ON "idempotency_records" USING GIN ("customer_ids");
-- Replies stored before this migration: every customer id they contain (the erasure also matches
-- what it still finds by the customer's id in the reply, so none is missed either way).
UPDATE "idempotency_records" r
SET "customer_ids" = ids.found
FROM (
  SELECT r2.id, array_agg(DISTINCT m[1]) AS found
  FROM "idempotency_records" r2, regexp_matches(r2.response_body::text, '"(cus_[0-9A-HJKMNP-TV-Z]{26})"', 'g') AS m
  WHERE r2.response_body IS NOT NULL
  GROUP BY r2.id
) ids
WHERE r.id = ids.id;

-- invoice_count is back in the stats expansion: the customer's invoices per currency (every
-- status), kept with the other figures. Rows of live customers are filled now, and a currency
-- a customer only has invoices in gets its row (zeros elsewhere); the nightly rollup keeps them.
ALTER TABLE "customer_stats" ADD COLUMN "invoice_count" INTEGER NOT NULL DEFAULT 0;
INSERT INTO "customer_stats" AS stats (customer_id, currency, merchant_id, environment, total_spent, payment_count,
  average_payment, first_payment_at, last_payment_at, mrr, active_subscriptions, subscription_status, computed_at, invoice_count)
SELECT c.id, i.currency, c.merchant_id, c.environment, 0, 0, 0, NULL, NULL, 0, 0, 'none', now(), count(*)
FROM "invoices" i JOIN "customers" c ON c.id = i.customer_id
WHERE c.deleted_at IS NULL
GROUP BY c.id, i.currency, c.merchant_id, c.environment
ON CONFLICT (customer_id, currency) DO UPDATE SET invoice_count = EXCLUDED.invoice_count;

-- One on-demand rollup per merchant and environment at a time: the API looks for the running one.
CREATE INDEX "stats_rollups_merchant_id_environment_status_idx" ON "stats_rollups"("merchant_id", "environment", "status");
