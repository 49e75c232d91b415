-- Signing secrets are stored encrypted (enc:v1:<key id>:...; SECRETS_ENCRYPTION_KEYS) and can be
-- rotated with an overlap: until previous_secret_expires_at deliveries carry both signatures.
ALTER TABLE "webhook_endpoints" ADD COLUMN "previous_secret" TEXT,
    ADD COLUMN "previous_secret_expires_at" TIMESTAMPTZ(3);
