-- Idempotency keys (issue 23).
--
-- lease_token: the request holding an in-progress key. A write commits its reply only with
-- `WHERE lease_token = <its token>` in its own transaction, so a request whose lease was taken
-- over by a retry (an event-loop stall, a starved pool) rolls back instead of committing a second
-- effect.
--
-- response_encrypted: a reply carrying a secret (a webhook signing secret) is stored encrypted with
-- SECRETS_ENCRYPTION_KEYS (AES-256-GCM, the webhook secrets' box) instead of in response_body.
ALTER TABLE "idempotency_records" ADD COLUMN "lease_token" TEXT,
ADD COLUMN "response_encrypted" TEXT;
