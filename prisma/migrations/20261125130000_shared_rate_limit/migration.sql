-- The per-key token bucket, shared by every API process: each process leases a few tokens at a
-- time from its row, so the limit holds across processes without a write per request.
CREATE TABLE "rate_limit_buckets" (
    "api_key_id" TEXT NOT NULL,
    "tokens" DOUBLE PRECISION NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "rate_limit_buckets_pkey" PRIMARY KEY ("api_key_id")
);
ALTER TABLE "rate_limit_buckets" ADD CONSTRAINT "rate_limit_buckets_api_key_id_fkey" FOREIGN KEY ("api_key_id") REFERENCES "api_keys"("id") ON DELETE CASCADE ON UPDATE CASCADE;
