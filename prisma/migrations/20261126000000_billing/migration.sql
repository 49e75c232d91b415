-- Billing objects a customer can hold, and what the deletion saga needs to close them.
CREATE TYPE "InvoiceType" AS ENUM ('subscription', 'one_off', 'credit');
CREATE TYPE "CreditNoteStatus" AS ENUM ('issued');
CREATE TYPE "CreditNoteReason" AS ENUM ('duplicated_charge', 'product_unsatisfactory', 'order_change', 'order_cancellation', 'fraudulent_charge', 'other');
CREATE TYPE "WalletStatus" AS ENUM ('active', 'terminated');
CREATE TYPE "WalletTransactionType" AS ENUM ('granted', 'purchased', 'consumed', 'voided');
CREATE TYPE "AppliedCouponStatus" AS ENUM ('active', 'terminated');
CREATE TYPE "CouponFrequency" AS ENUM ('once', 'forever');

-- Invoices: lines, totals that add up (total = subtotal - coupons_amount - credits_applied), the
-- billing snapshot taken at finalization. Existing invoices had only a total: it is their subtotal.
ALTER TABLE "invoices" ADD COLUMN "invoice_type" "InvoiceType" NOT NULL DEFAULT 'one_off',
    ADD COLUMN "subtotal" BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN "coupons_amount" BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN "credits_applied" BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN "billing_details" JSONB,
    ADD COLUMN "voided_at" TIMESTAMPTZ(3),
    ADD COLUMN "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;
UPDATE "invoices" SET "subtotal" = "total";
CREATE INDEX "invoices_merchant_id_environment_created_at_idx" ON "invoices"("merchant_id", "environment", "created_at");

CREATE TABLE "invoice_lines" (
    "id" TEXT NOT NULL,
    "invoice_id" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "quantity" INTEGER NOT NULL,
    "unit_amount" BIGINT NOT NULL,
    "amount" BIGINT NOT NULL,
    "subscription_id" TEXT,
    "period_start" TIMESTAMPTZ(3),
    "period_end" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "invoice_lines_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "invoice_lines_quantity_check" CHECK ("quantity" > 0),
    CONSTRAINT "invoice_lines_amount_check" CHECK ("amount" = "quantity" * "unit_amount")
);
CREATE INDEX "invoice_lines_invoice_id_idx" ON "invoice_lines"("invoice_id");
CREATE INDEX "invoice_lines_subscription_id_idx" ON "invoice_lines"("subscription_id");
ALTER TABLE "invoice_lines" ADD CONSTRAINT "invoice_lines_invoice_id_fkey" FOREIGN KEY ("invoice_id") REFERENCES "invoices"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "invoice_lines" ADD CONSTRAINT "invoice_lines_subscription_id_fkey" FOREIGN KEY ("subscription_id") REFERENCES "subscriptions"("id") ON DELETE SET NULL ON UPDATE CASCADE;

CREATE TABLE "invoice_number_sequences" (
    "merchant_id" TEXT NOT NULL,
    "environment" "Environment" NOT NULL,
    "last_number" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "invoice_number_sequences_pkey" PRIMARY KEY ("merchant_id", "environment")
);
ALTER TABLE "invoice_number_sequences" ADD CONSTRAINT "invoice_number_sequences_merchant_id_fkey" FOREIGN KEY ("merchant_id") REFERENCES "merchants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TABLE "credit_notes" (
    "id" TEXT NOT NULL,
    "merchant_id" TEXT NOT NULL,
    "environment" "Environment" NOT NULL,
    "customer_id" TEXT NOT NULL,
    "invoice_id" TEXT NOT NULL,
    "subscription_id" TEXT,
    "number" TEXT NOT NULL,
    "status" "CreditNoteStatus" NOT NULL DEFAULT 'issued',
    "reason" "CreditNoteReason" NOT NULL,
    "description" TEXT,
    "currency" CHAR(3) NOT NULL,
    "amount" BIGINT NOT NULL,
    "refunded_amount" BIGINT NOT NULL DEFAULT 0,
    "billing_details" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "credit_notes_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "credit_notes_amount_check" CHECK ("amount" > 0 AND "refunded_amount" BETWEEN 0 AND "amount")
);
CREATE UNIQUE INDEX "credit_notes_merchant_id_environment_number_key" ON "credit_notes"("merchant_id", "environment", "number");
CREATE INDEX "credit_notes_customer_id_created_at_idx" ON "credit_notes"("customer_id", "created_at");
CREATE INDEX "credit_notes_invoice_id_idx" ON "credit_notes"("invoice_id");
CREATE INDEX "credit_notes_merchant_id_environment_created_at_idx" ON "credit_notes"("merchant_id", "environment", "created_at");
ALTER TABLE "credit_notes" ADD CONSTRAINT "credit_notes_merchant_id_fkey" FOREIGN KEY ("merchant_id") REFERENCES "merchants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "credit_notes" ADD CONSTRAINT "credit_notes_customer_id_merchant_id_environment_fkey" FOREIGN KEY ("customer_id", "merchant_id", "environment")
    REFERENCES "customers"("id", "merchant_id", "environment") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "credit_notes" ADD CONSTRAINT "credit_notes_invoice_id_fkey" FOREIGN KEY ("invoice_id") REFERENCES "invoices"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "credit_notes" ADD CONSTRAINT "credit_notes_subscription_id_fkey" FOREIGN KEY ("subscription_id") REFERENCES "subscriptions"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- Refunds may be recorded against a credit note.
CREATE INDEX "refunds_credit_note_id_idx" ON "refunds"("credit_note_id");
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_credit_note_id_fkey" FOREIGN KEY ("credit_note_id") REFERENCES "credit_notes"("id") ON DELETE SET NULL ON UPDATE CASCADE;

CREATE TABLE "wallets" (
    "id" TEXT NOT NULL,
    "merchant_id" TEXT NOT NULL,
    "environment" "Environment" NOT NULL,
    "customer_id" TEXT NOT NULL,
    "name" TEXT,
    "currency" CHAR(3) NOT NULL,
    "rate_amount" BIGINT NOT NULL DEFAULT 1,
    "status" "WalletStatus" NOT NULL DEFAULT 'active',
    "credits_balance" BIGINT NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "terminated_at" TIMESTAMPTZ(3),

    CONSTRAINT "wallets_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "wallets_balance_check" CHECK ("credits_balance" >= 0 AND "rate_amount" > 0),
    -- A terminated wallet has had its remaining credits voided.
    CONSTRAINT "wallets_terminated_check" CHECK ("status" = 'active' OR "credits_balance" = 0)
);
CREATE INDEX "wallets_customer_id_created_at_idx" ON "wallets"("customer_id", "created_at");
CREATE INDEX "wallets_merchant_id_environment_created_at_idx" ON "wallets"("merchant_id", "environment", "created_at");
-- One active wallet per customer and currency; a terminated one frees the currency.
CREATE UNIQUE INDEX "wallets_one_active_per_currency_key" ON "wallets"("customer_id", "currency") WHERE "status" = 'active';
ALTER TABLE "wallets" ADD CONSTRAINT "wallets_merchant_id_fkey" FOREIGN KEY ("merchant_id") REFERENCES "merchants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "wallets" ADD CONSTRAINT "wallets_customer_id_merchant_id_environment_fkey" FOREIGN KEY ("customer_id", "merchant_id", "environment")
    REFERENCES "customers"("id", "merchant_id", "environment") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TABLE "wallet_transactions" (
    "id" TEXT NOT NULL,
    "merchant_id" TEXT NOT NULL,
    "environment" "Environment" NOT NULL,
    "wallet_id" TEXT NOT NULL,
    "customer_id" TEXT NOT NULL,
    "type" "WalletTransactionType" NOT NULL,
    "credits" BIGINT NOT NULL,
    "amount" BIGINT NOT NULL,
    "credits_balance_after" BIGINT NOT NULL,
    "invoice_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "wallet_transactions_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "wallet_transactions_credits_check" CHECK ("credits" > 0 AND "amount" >= 0 AND "credits_balance_after" >= 0)
);
CREATE INDEX "wallet_transactions_wallet_id_created_at_idx" ON "wallet_transactions"("wallet_id", "created_at");
CREATE INDEX "wallet_transactions_customer_id_created_at_idx" ON "wallet_transactions"("customer_id", "created_at");
ALTER TABLE "wallet_transactions" ADD CONSTRAINT "wallet_transactions_merchant_id_fkey" FOREIGN KEY ("merchant_id") REFERENCES "merchants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "wallet_transactions" ADD CONSTRAINT "wallet_transactions_wallet_id_fkey" FOREIGN KEY ("wallet_id") REFERENCES "wallets"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "wallet_transactions" ADD CONSTRAINT "wallet_transactions_customer_id_merchant_id_environment_fkey" FOREIGN KEY ("customer_id", "merchant_id", "environment")
    REFERENCES "customers"("id", "merchant_id", "environment") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "wallet_transactions" ADD CONSTRAINT "wallet_transactions_invoice_id_fkey" FOREIGN KEY ("invoice_id") REFERENCES "invoices"("id") ON DELETE SET NULL ON UPDATE CASCADE;

CREATE TABLE "applied_coupons" (
    "id" TEXT NOT NULL,
    "merchant_id" TEXT NOT NULL,
    "environment" "Environment" NOT NULL,
    "customer_id" TEXT NOT NULL,
    "coupon_code" TEXT NOT NULL,
    "amount_off" BIGINT,
    "currency" CHAR(3),
    "percent_off" INTEGER,
    "frequency" "CouponFrequency" NOT NULL,
    "amount_remaining" BIGINT,
    "status" "AppliedCouponStatus" NOT NULL DEFAULT 'active',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "terminated_at" TIMESTAMPTZ(3),

    CONSTRAINT "applied_coupons_pkey" PRIMARY KEY ("id"),
    -- Either a fixed amount in a currency, or a percentage.
    CONSTRAINT "applied_coupons_discount_check" CHECK (
        ("amount_off" > 0 AND "currency" IS NOT NULL AND "percent_off" IS NULL)
        OR ("amount_off" IS NULL AND "currency" IS NULL AND "percent_off" BETWEEN 1 AND 100))
);
CREATE INDEX "applied_coupons_customer_id_status_idx" ON "applied_coupons"("customer_id", "status");
CREATE INDEX "applied_coupons_merchant_id_environment_created_at_idx" ON "applied_coupons"("merchant_id", "environment", "created_at");
ALTER TABLE "applied_coupons" ADD CONSTRAINT "applied_coupons_merchant_id_fkey" FOREIGN KEY ("merchant_id") REFERENCES "merchants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "applied_coupons" ADD CONSTRAINT "applied_coupons_customer_id_merchant_id_environment_fkey" FOREIGN KEY ("customer_id", "merchant_id", "environment")
    REFERENCES "customers"("id", "merchant_id", "environment") ON DELETE RESTRICT ON UPDATE CASCADE;
