-- Enum values (appended: existing rows keep their meaning)
ALTER TYPE "PaymentStatus" ADD VALUE 'partially_refunded';
ALTER TYPE "PaymentSource" ADD VALUE 'invoice';
ALTER TYPE "PaymentSource" ADD VALUE 'checkout';
ALTER TYPE "DeletionStatus" ADD VALUE 'action_required';
ALTER TYPE "WebhookDeliveryStatus" ADD VALUE 'cancelled';

CREATE TYPE "SubscriptionStatus" AS ENUM ('pending', 'active', 'terminated', 'canceled');
CREATE TYPE "BillingInterval" AS ENUM ('month', 'year');
CREATE TYPE "BillingTime" AS ENUM ('in_advance', 'in_arrears');
CREATE TYPE "WebhookEndpointStatus" AS ENUM ('enabled', 'disabled');

-- Merchants: where to notify them, and their own time zone
ALTER TABLE "merchants" ADD COLUMN "notification_email" TEXT,
    ADD COLUMN "timezone" TEXT NOT NULL DEFAULT 'UTC';

-- Customers: upsert identity is the pair (external_source, external_id); a NULL source (an
-- external_id set through POST/PATCH) is a namespace of its own, hence NULLS NOT DISTINCT.
DROP INDEX "customers_live_external_id_key";
CREATE UNIQUE INDEX "customers_live_external_key" ON "customers"("merchant_id", "environment", "external_source", "external_id")
    NULLS NOT DISTINCT WHERE "deleted_at" IS NULL AND "external_id" IS NOT NULL;
ALTER TABLE "customers" ADD COLUMN "erased_at" TIMESTAMPTZ(3);
CREATE UNIQUE INDEX "customers_id_merchant_id_environment_key" ON "customers"("id", "merchant_id", "environment");

-- Payments: refunds and payment dates; tenant-scoped customer reference
ALTER TABLE "payments" ADD COLUMN "amount_refunded" BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN "paid_at" TIMESTAMPTZ(3),
    ADD COLUMN "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;
CREATE INDEX "payments_merchant_id_environment_created_at_idx" ON "payments"("merchant_id", "environment", "created_at");
ALTER TABLE "payments" ADD CONSTRAINT "payments_customer_scope_fkey" FOREIGN KEY ("customer_id", "merchant_id", "environment")
    REFERENCES "customers"("id", "merchant_id", "environment") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TABLE "refunds" (
    "id" TEXT NOT NULL,
    "merchant_id" TEXT NOT NULL,
    "environment" "Environment" NOT NULL,
    "payment_id" TEXT NOT NULL,
    "amount" BIGINT NOT NULL,
    "reason" TEXT,
    "credit_note_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "refunds_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "refunds_payment_id_idx" ON "refunds"("payment_id");
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_merchant_id_fkey" FOREIGN KEY ("merchant_id") REFERENCES "merchants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_payment_id_fkey" FOREIGN KEY ("payment_id") REFERENCES "payments"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TABLE "subscriptions" (
    "id" TEXT NOT NULL,
    "merchant_id" TEXT NOT NULL,
    "environment" "Environment" NOT NULL,
    "customer_id" TEXT NOT NULL,
    "plan_code" TEXT NOT NULL,
    "amount" BIGINT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "interval" "BillingInterval" NOT NULL,
    "billing_time" "BillingTime" NOT NULL,
    "status" "SubscriptionStatus" NOT NULL DEFAULT 'active',
    "current_period_start" TIMESTAMPTZ(3) NOT NULL,
    "current_period_end" TIMESTAMPTZ(3) NOT NULL,
    "canceled_at" TIMESTAMPTZ(3),
    "terminated_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "subscriptions_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "subscriptions_customer_id_status_idx" ON "subscriptions"("customer_id", "status");
CREATE INDEX "subscriptions_merchant_id_environment_created_at_idx" ON "subscriptions"("merchant_id", "environment", "created_at");
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_merchant_id_fkey" FOREIGN KEY ("merchant_id") REFERENCES "merchants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_customer_id_merchant_id_environment_fkey" FOREIGN KEY ("customer_id", "merchant_id", "environment")
    REFERENCES "customers"("id", "merchant_id", "environment") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Invoices: numbered per merchant and environment; tenant-scoped customer reference
DROP INDEX "invoices_merchant_id_number_key";
CREATE UNIQUE INDEX "invoices_merchant_id_environment_number_key" ON "invoices"("merchant_id", "environment", "number");
ALTER TABLE "invoices" DROP CONSTRAINT "invoices_customer_id_fkey";
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_customer_id_merchant_id_environment_fkey" FOREIGN KEY ("customer_id", "merchant_id", "environment")
    REFERENCES "customers"("id", "merchant_id", "environment") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Deletions: the step in progress, and when the row last changed (the reconciler's clock)
ALTER TABLE "customer_deletions" ADD COLUMN "current_step" TEXT,
    ADD COLUMN "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;
CREATE INDEX "customer_deletions_status_updated_at_idx" ON "customer_deletions"("status", "updated_at");

-- Events: the customer in a column of its own; the relay reads undispatched events in id order
ALTER TABLE "events" ADD COLUMN "customer_id" TEXT,
    ADD COLUMN "dispatch_attempts" INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN "dispatch_error" TEXT;
UPDATE "events" SET "customer_id" = "data"->'object'->>'id' WHERE "data"->'object'->>'id' LIKE 'cus\_%';
CREATE INDEX "events_customer_id_idx" ON "events"("customer_id");
DROP INDEX "events_undispatched_idx";
CREATE INDEX "events_undispatched_idx" ON "events"("id") WHERE "dispatched_at" IS NULL;

-- Webhooks: endpoints can be disabled; deliveries are rows claimed by the endpoint's workflow
ALTER TABLE "webhook_endpoints" ADD COLUMN "status" "WebhookEndpointStatus" NOT NULL DEFAULT 'enabled',
    ADD COLUMN "enabled_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    ADD COLUMN "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;
ALTER TABLE "webhook_deliveries" ADD COLUMN "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    ADD COLUMN "locked_until" TIMESTAMPTZ(3);
CREATE INDEX "webhook_deliveries_due_idx" ON "webhook_deliveries"("endpoint_id", "next_attempt_at") WHERE "status" = 'pending';

-- Idempotency: an in-progress key is leased to its request, which renews the lease while it runs
ALTER TABLE "idempotency_records" ADD COLUMN "locked_until" TIMESTAMPTZ(3);
