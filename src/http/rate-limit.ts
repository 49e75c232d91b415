import type { RequestHandler } from 'express';
import type { SqlPool } from '../db.js';
import { ApiError } from '../lib/errors.js';
import { scopeOf } from './context.js';

export interface RateLimitOptions {
  /** Sustained requests per second allowed for one API key, across every API process. */
  perSecond: number;
  /** Requests a key may send at once after being idle. */
  burst: number;
}

// The bucket lives in Postgres so the limit holds across API processes. A process does not write
// it per request: it leases tokens in small chunks (a tenth of a second's worth) and spends them
// locally, so one key costs at most ~10 bucket writes per second per process. Unspent tokens expire
// after a second, which bounds how far processes holding leases can exceed the limit together.
const LEASE_SECONDS = 0.1;
const LEASE_TTL_MS = 1_000;

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

interface Lease {
  tokens: number;
  expiresAt: number;
  /** The shared bucket was empty: refuse locally until a token can have come back. */
  emptyUntil: number;
  /** A lease being fetched: concurrent requests of the key wait for the same one. */
  pending?: Promise<void>;
}

/** A token bucket per API key shared through Postgres. Over the limit: 429 `rate_limited` with Retry-After. */
export function rateLimit(pool: SqlPool, { perSecond, burst }: RateLimitOptions): RequestHandler {
  const leases = new Map<string, Lease>();
  const leaseSize = Math.max(1, Math.min(burst, Math.ceil(perSecond * LEASE_SECONDS)));
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [key, lease] of leases) if (!lease.pending && lease.expiresAt < now) leases.delete(key);
  }, 60_000);
  sweep.unref();

  const refill = async (apiKeyId: string, lease: Lease) => {
    const { rows } = await pool.query<{ tokens: number }>(LEASE_SQL, [apiKeyId, burst, perSecond, leaseSize]);
    lease.tokens = Number(rows[0]?.tokens ?? 0);
    lease.expiresAt = Date.now() + LEASE_TTL_MS;
    if (lease.tokens < 1) lease.emptyUntil = Date.now() + 1000 / perSecond;
  };
  const refuse = (res: Parameters<RequestHandler>[1]) => {
    res.set('Retry-After', String(Math.max(1, Math.ceil(1 / perSecond))));
    return new ApiError(429, 'rate_limited', `Too many requests for this API key: at most ${perSecond} per second`);
  };

  return async (_req, res, next) => {
    const { apiKeyId } = scopeOf(res);
    let lease = leases.get(apiKeyId);
    if (!lease) {
      lease = { tokens: 0, expiresAt: 0, emptyUntil: 0 };
      leases.set(apiKeyId, lease);
    }
    while (lease.tokens < 1 || lease.expiresAt < Date.now()) {
      if (lease.emptyUntil > Date.now()) throw refuse(res);
      if (!lease.pending) {
        const current = lease;
        current.pending = refill(apiKeyId, current).finally(() => {
          current.pending = undefined;
        });
      }
      // The lease may come back already spent by the requests that waited on it with this one: go
      // round again. Only an empty shared bucket (emptyUntil, set by the refill) refuses.
      await lease.pending;
    }
    lease.tokens -= 1;
    next();
  };
}
