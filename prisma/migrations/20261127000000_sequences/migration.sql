-- Sequences, their enrolments, and every message sent (or deliberately not sent)
CREATE TYPE "SequenceStatus" AS ENUM ('active', 'archived');
CREATE TYPE "SequenceReentry" AS ENUM ('once', 'after_exit');
CREATE TYPE "EnrollmentStatus" AS ENUM ('pending_start', 'active', 'completed', 'exited');
CREATE TYPE "EnrollmentSource" AS ENUM ('tag', 'manual');
CREATE TYPE "MessageChannel" AS ENUM ('email', 'sms');
CREATE TYPE "MessageKind" AS ENUM ('sequence', 'receipt', 'refund_notice', 'notification');
CREATE TYPE "MessageStatus" AS ENUM ('queued', 'sending', 'sent', 'skipped', 'failed', 'unknown');

CREATE TABLE "sequences" (
    "id" TEXT NOT NULL,
    "merchant_id" TEXT NOT NULL,
    "environment" "Environment" NOT NULL,
    "name" TEXT NOT NULL,
    "trigger_tag" TEXT NOT NULL,
    "exit_tag" TEXT,
    "reentry" "SequenceReentry" NOT NULL DEFAULT 'once',
    "status" "SequenceStatus" NOT NULL DEFAULT 'active',
    "version" INTEGER NOT NULL DEFAULT 1,
    "steps" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "archived_at" TIMESTAMPTZ(3),

    CONSTRAINT "sequences_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "sequences_merchant_id_environment_status_idx" ON "sequences"("merchant_id", "environment", "status");
ALTER TABLE "sequences" ADD CONSTRAINT "sequences_merchant_id_fkey" FOREIGN KEY ("merchant_id") REFERENCES "merchants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TABLE "sequence_versions" (
    "sequence_id" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "trigger_tag" TEXT NOT NULL,
    "exit_tag" TEXT,
    "steps" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sequence_versions_pkey" PRIMARY KEY ("sequence_id", "version")
);
ALTER TABLE "sequence_versions" ADD CONSTRAINT "sequence_versions_sequence_id_fkey" FOREIGN KEY ("sequence_id") REFERENCES "sequences"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TABLE "sequence_enrollments" (
    "id" TEXT NOT NULL,
    "merchant_id" TEXT NOT NULL,
    "environment" "Environment" NOT NULL,
    "sequence_id" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "customer_id" TEXT NOT NULL,
    "status" "EnrollmentStatus" NOT NULL DEFAULT 'pending_start',
    "source" "EnrollmentSource" NOT NULL,
    "current_step" INTEGER NOT NULL DEFAULT 0,
    "step_due_at" TIMESTAMPTZ(3),
    "next_send_at" TIMESTAMPTZ(3),
    "start_claimed_until" TIMESTAMPTZ(3),
    "exit_reason" TEXT,
    "enrolled_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "ended_at" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sequence_enrollments_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "sequence_enrollments_customer_id_idx" ON "sequence_enrollments"("customer_id");
CREATE INDEX "sequence_enrollments_sequence_id_status_idx" ON "sequence_enrollments"("sequence_id", "status");
-- A customer is in a sequence at most once at a time, whatever path enrols them concurrently.
CREATE UNIQUE INDEX "sequence_enrollments_one_live_key" ON "sequence_enrollments"("sequence_id", "customer_id")
    WHERE "status" IN ('pending_start', 'active');
-- The enroller's claims and the reconciler's look-ups of enrolments without a workflow yet.
CREATE INDEX "sequence_enrollments_pending_idx" ON "sequence_enrollments"("sequence_id", "enrolled_at")
    WHERE "status" = 'pending_start';
ALTER TABLE "sequence_enrollments" ADD CONSTRAINT "sequence_enrollments_sequence_id_fkey" FOREIGN KEY ("sequence_id") REFERENCES "sequences"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "sequence_enrollments" ADD CONSTRAINT "sequence_enrollments_sequence_id_version_fkey" FOREIGN KEY ("sequence_id", "version") REFERENCES "sequence_versions"("sequence_id", "version") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "sequence_enrollments" ADD CONSTRAINT "sequence_enrollments_customer_id_merchant_id_environment_fkey" FOREIGN KEY ("customer_id", "merchant_id", "environment")
    REFERENCES "customers"("id", "merchant_id", "environment") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TABLE "messages" (
    "id" TEXT NOT NULL,
    "merchant_id" TEXT NOT NULL,
    "environment" "Environment" NOT NULL,
    "customer_id" TEXT,
    "kind" "MessageKind" NOT NULL,
    "channel" "MessageChannel" NOT NULL,
    "idempotency_key" TEXT NOT NULL,
    "status" "MessageStatus" NOT NULL DEFAULT 'queued',
    "recipient" TEXT,
    "subject" TEXT,
    "data" JSONB,
    "sequence_id" TEXT,
    "enrollment_id" TEXT,
    "step" INTEGER,
    "provider" TEXT,
    "provider_message_id" TEXT,
    "segments" INTEGER,
    "skip_reason" TEXT,
    "error" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "locked_until" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "sent_at" TIMESTAMPTZ(3),

    CONSTRAINT "messages_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "messages_idempotency_key_key" ON "messages"("idempotency_key");
CREATE INDEX "messages_customer_id_idx" ON "messages"("customer_id");
CREATE INDEX "messages_enrollment_id_idx" ON "messages"("enrollment_id");
-- Queue passes: a merchant's receipts and notifications waiting to be sent (or cut off mid-send).
CREATE INDEX "messages_queue_idx" ON "messages"("merchant_id", "next_attempt_at")
    WHERE "status" IN ('queued', 'sending') AND "kind" <> 'sequence';
ALTER TABLE "messages" ADD CONSTRAINT "messages_merchant_id_fkey" FOREIGN KEY ("merchant_id") REFERENCES "merchants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "messages" ADD CONSTRAINT "messages_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE SET NULL ON UPDATE CASCADE;
-- The customer is optional (notifications go to the merchant), so the tenant-scoped composite key
-- is in SQL only, as for payments: a message can never point at another tenant's customer.
ALTER TABLE "messages" ADD CONSTRAINT "messages_customer_scope_fkey" FOREIGN KEY ("customer_id", "merchant_id", "environment")
    REFERENCES "customers"("id", "merchant_id", "environment") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "messages" ADD CONSTRAINT "messages_enrollment_id_fkey" FOREIGN KEY ("enrollment_id") REFERENCES "sequence_enrollments"("id") ON DELETE SET NULL ON UPDATE CASCADE;

CREATE TABLE "message_opt_outs" (
    "customer_id" TEXT NOT NULL,
    "channel" "MessageChannel" NOT NULL,
    "merchant_id" TEXT NOT NULL,
    "environment" "Environment" NOT NULL,
    "source" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "message_opt_outs_pkey" PRIMARY KEY ("customer_id", "channel")
);
ALTER TABLE "message_opt_outs" ADD CONSTRAINT "message_opt_outs_customer_id_merchant_id_environment_fkey" FOREIGN KEY ("customer_id", "merchant_id", "environment")
    REFERENCES "customers"("id", "merchant_id", "environment") ON DELETE RESTRICT ON UPDATE CASCADE;
