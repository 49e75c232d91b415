import type { SqlPool } from '../db.js';

const LEASE_SQL = `
  WITH current AS (
    SELECT tokens, updated_at FROM rate_limit_buckets WHERE api_key_id = $1 FOR UPDATE
  ), available AS (
    SELECT COALESCE(
      (SELECT LEAST($2::float8, tokens + EXTRACT(EPOCH FROM (clock_timestamp() - updated_at)) * $3::float8) FROM current),
      $2::float8) AS tokens
  ), granted AS (
    SELECT FLOOR(LEAST(tokens, $4::float8)) AS tokens, tokens AS available FROM available
  ), saved AS (
    INSERT INTO rate_limit_buckets (api_key_id, tokens, updated_at)
    SELECT $1, available - tokens, clock_timestamp() FROM granted
    ON CONFLICT (api_key_id) DO UPDATE SET tokens = EXCLUDED.tokens, updated_at = EXCLUDED.updated_at
  )
  SELECT tokens FROM granted`;

/** The token buckets of the API keys (`rate_limit_buckets`), shared by every API process. */
export class RateLimitStore {
  constructor(private readonly pool: SqlPool) {}

  /**
   * Takes up to `leaseSize` whole tokens from the key's bucket, refilled at `perSecond` up to
   * `burst` since its last write (a key without a bucket starts full): the tokens granted.
   */
  async lease(apiKeyId: string, { burst, perSecond, leaseSize }: { burst: number; perSecond: number; leaseSize: number }): Promise<number> {
    const { rows } = await this.pool.query<{ tokens: number }>(LEASE_SQL, [apiKeyId, burst, perSecond, leaseSize]);
    return Number(rows[0]?.tokens ?? 0);
  }
}
