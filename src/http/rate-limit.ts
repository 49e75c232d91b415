import type { RequestHandler } from 'express';
import type { SqlPool } from '../db.js';
import { ApiError } from '../lib/errors.js';
import { scopeOf } from './context.js';
import { RateLimitStore } from './rate-limit.store.js';

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
  const buckets = new RateLimitStore(pool);
  const leases = new Map<string, Lease>();
  const leaseSize = Math.max(1, Math.min(burst, Math.ceil(perSecond * LEASE_SECONDS)));
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [key, lease] of leases) if (!lease.pending && lease.expiresAt < now) leases.delete(key);
  }, 60_000);
  sweep.unref();

  const refill = async (apiKeyId: string, lease: Lease) => {
    lease.tokens = await buckets.lease(apiKeyId, { burst, perSecond, leaseSize });
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
