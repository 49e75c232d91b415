-- Settings per merchant and environment (issue 23.5): a sandbox key changed the live receipts'
-- name and the live notification address, because the settings were columns of the merchant.
-- Each merchant's existing settings become the settings of both of its environments.
CREATE TABLE "merchant_settings" (
    "merchant_id" TEXT NOT NULL,
    "environment" "Environment" NOT NULL,
    "name" TEXT NOT NULL,
    "notification_email" TEXT,
    "timezone" TEXT NOT NULL DEFAULT 'UTC',
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "merchant_settings_pkey" PRIMARY KEY ("merchant_id", "environment")
);
ALTER TABLE "merchant_settings" ADD CONSTRAINT "merchant_settings_merchant_id_fkey" FOREIGN KEY ("merchant_id") REFERENCES "merchants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

INSERT INTO "merchant_settings" ("merchant_id", "environment", "name", "notification_email", "timezone")
SELECT m."id", e.environment, m."name", m."notification_email", m."timezone"
FROM "merchants" m CROSS JOIN unnest(enum_range(NULL::"Environment")) AS e(environment);

ALTER TABLE "merchants" DROP COLUMN "notification_email", DROP COLUMN "timezone";

-- Every merchant has the settings of every environment from the moment it exists, however it is
-- created, so readers join them without a fallback.
CREATE FUNCTION "merchant_settings_for_new_merchant"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO merchant_settings (merchant_id, environment, name)
  SELECT NEW.id, e.environment, NEW.name FROM unnest(enum_range(NULL::"Environment")) AS e(environment);
  RETURN NULL;
END $$;
CREATE TRIGGER "merchants_settings_after_insert" AFTER INSERT ON "merchants"
    FOR EACH ROW EXECUTE FUNCTION "merchant_settings_for_new_merchant"();

-- Suppression by address (issue 23.6): opt-outs were kept per customer only, so a customer
-- deleted and created again with the same email received the sequence again. An address is kept
-- as a keyed hash (no plaintext), per merchant, environment and channel. Existing per-customer
-- opt-outs stay; the worker adds the suppressions of their addresses at start (the key is not
-- known to SQL).
CREATE TABLE "suppressions" (
    "id" TEXT NOT NULL,
    "merchant_id" TEXT NOT NULL,
    "environment" "Environment" NOT NULL,
    "channel" "MessageChannel" NOT NULL,
    "address_hash" TEXT NOT NULL,
    "key_id" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "suppressions_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "suppressions_merchant_id_environment_channel_address_hash_key" ON "suppressions"("merchant_id", "environment", "channel", "address_hash");
ALTER TABLE "suppressions" ADD CONSTRAINT "suppressions_merchant_id_fkey" FOREIGN KEY ("merchant_id") REFERENCES "merchants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Digests are messages (issue 22): one row per merchant, environment and date, sent by the
-- merchant's message queue like every other email. The rollup's resume point is gone with the loop.
ALTER TYPE "MessageKind" ADD VALUE 'digest';
ALTER TABLE "stats_rollups" DROP COLUMN "digests_sent_through";
