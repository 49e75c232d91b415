-- Parked events (issue 22): an event whose hand-over to the subscribers failed ten times in a row
-- is parked. parked_at says since when; it also keys the merchant's notification of that parking,
-- so a replayed event that parks again is notified again. A replay clears it. Events parked before
-- this migration are marked as parked now (they were never notified).
ALTER TABLE "events" ADD COLUMN "parked_at" TIMESTAMPTZ(3);
UPDATE "events" SET "parked_at" = now() WHERE "dispatched_at" IS NULL AND "dispatch_attempts" >= 10;
-- The parked events of a tenant, newest first (GET /v1/events?status=parked).
CREATE INDEX "events_parked_idx" ON "events"("merchant_id", "environment", "id") WHERE "parked_at" IS NOT NULL;

-- Retention (housekeeping): each prune batch takes the oldest rows that may go from an index that
-- holds only those, so it never walks what must stay (undispatched events, pending deliveries,
-- messages in flight or already blanked).
CREATE INDEX "events_retention_idx" ON "events"("created_at") WHERE "dispatched_at" IS NOT NULL;
CREATE INDEX "webhook_deliveries_retention_idx" ON "webhook_deliveries"("created_at") WHERE "status" <> 'pending';
-- An endpoint's last successful delivery names its failing streak (the notification's key): the
-- prune keeps it, and both look it up here instead of reading every delivery of the endpoint.
CREATE INDEX "webhook_deliveries_last_success_idx" ON "webhook_deliveries"("endpoint_id", "delivered_at" DESC NULLS LAST, "id" DESC)
    WHERE "status" = 'succeeded';
CREATE INDEX "messages_retention_idx" ON "messages"("created_at")
    WHERE "status" IN ('sent', 'skipped', 'failed') AND ("subject" IS NOT NULL OR "data" IS NOT NULL);
