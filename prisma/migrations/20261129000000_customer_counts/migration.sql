-- Live customer counts per tenant: the `total` of the unfiltered customer list without counting
-- the customers on every request (a count grows with the table: at 5,000 customers it was the
-- busiest statement of a soak at 200 requests/s).
--
-- Writers never share a row: statement-level triggers append one delta row per statement and
-- tenant (none when a statement changes no listed customer, as a PATCH of metadata does), so
-- concurrent inserts of one merchant take no common lock. Housekeeping folds each tenant's rows
-- into one; a reader sums the few rows written since. A listed customer is one the list shows:
-- status 'active' and not deleted.
CREATE TABLE "customer_counts" (
    "id" BIGSERIAL NOT NULL,
    "merchant_id" TEXT NOT NULL,
    "environment" "Environment" NOT NULL,
    "delta" BIGINT NOT NULL,

    CONSTRAINT "customer_counts_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "customer_counts_merchant_id_environment_idx" ON "customer_counts"("merchant_id", "environment");

CREATE FUNCTION "customer_counts_after_insert"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO customer_counts (merchant_id, environment, delta)
  SELECT merchant_id, environment, count(*) FROM new_rows
  WHERE status = 'active' AND deleted_at IS NULL
  GROUP BY merchant_id, environment;
  RETURN NULL;
END $$;

CREATE FUNCTION "customer_counts_after_update"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO customer_counts (merchant_id, environment, delta)
  SELECT merchant_id, environment, sum(delta) FROM (
    SELECT merchant_id, environment, 1 AS delta FROM new_rows WHERE status = 'active' AND deleted_at IS NULL
    UNION ALL
    SELECT merchant_id, environment, -1 FROM old_rows WHERE status = 'active' AND deleted_at IS NULL
  ) changes
  GROUP BY merchant_id, environment
  HAVING sum(delta) <> 0;
  RETURN NULL;
END $$;

CREATE FUNCTION "customer_counts_after_delete"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO customer_counts (merchant_id, environment, delta)
  SELECT merchant_id, environment, -count(*) FROM old_rows
  WHERE status = 'active' AND deleted_at IS NULL
  GROUP BY merchant_id, environment;
  RETURN NULL;
END $$;

CREATE TRIGGER "customer_counts_insert" AFTER INSERT ON "customers"
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "customer_counts_after_insert"();
CREATE TRIGGER "customer_counts_update" AFTER UPDATE ON "customers"
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "customer_counts_after_update"();
CREATE TRIGGER "customer_counts_delete" AFTER DELETE ON "customers"
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "customer_counts_after_delete"();

-- The customers already there.
INSERT INTO customer_counts (merchant_id, environment, delta)
SELECT merchant_id, environment, count(*) FROM customers
WHERE status = 'active' AND deleted_at IS NULL
GROUP BY merchant_id, environment;
