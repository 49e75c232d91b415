-- CreateEnum
CREATE TYPE "StatsSubscriptionStatus" AS ENUM ('none', 'active', 'canceled');
CREATE TYPE "StatsRollupStatus" AS ENUM ('running', 'completed', 'failed');

-- Customer stats: one row per customer and currency, derived from payments and subscriptions
CREATE TABLE "customer_stats" (
    "customer_id" TEXT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "merchant_id" TEXT NOT NULL,
    "environment" "Environment" NOT NULL,
    "total_spent" BIGINT NOT NULL,
    "payment_count" INTEGER NOT NULL,
    "average_payment" BIGINT NOT NULL,
    "first_payment_at" TIMESTAMPTZ(3),
    "last_payment_at" TIMESTAMPTZ(3),
    "mrr" BIGINT NOT NULL,
    "active_subscriptions" INTEGER NOT NULL,
    "subscription_status" "StatsSubscriptionStatus" NOT NULL,
    "computed_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "customer_stats_pkey" PRIMARY KEY ("customer_id", "currency")
) WITH (fillfactor = 50);
CREATE INDEX "customer_stats_ltv_idx" ON "customer_stats"("merchant_id", "environment", "currency", "total_spent", "customer_id");

-- The stats aggregate of a range of customers: an index-only scan of their paid payments, in order
CREATE INDEX "payments_paid_by_customer_idx" ON "payments"("customer_id", "currency")
    INCLUDE ("amount", "amount_refunded", "paid_at", "created_at")
    WHERE "status" IN ('succeeded', 'partially_refunded', 'refunded');

-- Rollup runs and the progress of their batches
CREATE TABLE "stats_rollups" (
    "id" TEXT NOT NULL,
    "merchant_id" TEXT,
    "environment" "Environment",
    "workflow_id" TEXT NOT NULL,
    "run_id" TEXT,
    "status" "StatsRollupStatus" NOT NULL DEFAULT 'running',
    "customers_total" INTEGER,
    "failure_reason" TEXT,
    "digests_sent_through" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completed_at" TIMESTAMPTZ(3),

    CONSTRAINT "stats_rollups_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "stats_rollups_workflow_id_key" ON "stats_rollups"("workflow_id");
ALTER TABLE "stats_rollups" ADD CONSTRAINT "stats_rollups_merchant_id_fkey" FOREIGN KEY ("merchant_id") REFERENCES "merchants"("id") ON DELETE SET NULL ON UPDATE CASCADE;

CREATE TABLE "stats_rollup_batches" (
    "rollup_id" TEXT NOT NULL,
    "start_after" TEXT NOT NULL,
    "cursor" TEXT,
    "customers_done" INTEGER NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stats_rollup_batches_pkey" PRIMARY KEY ("rollup_id", "start_after")
);
ALTER TABLE "stats_rollup_batches" ADD CONSTRAINT "stats_rollup_batches_rollup_id_fkey" FOREIGN KEY ("rollup_id") REFERENCES "stats_rollups"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- The rollup of one merchant walks its customers in id order
CREATE INDEX "customers_merchant_id_environment_id_idx" ON "customers"("merchant_id", "environment", "id");
