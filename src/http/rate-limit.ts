import type { RequestHandler } from 'express';
import { ApiError } from '../lib/errors.js';
import { scopeOf } from './context.js';

export interface RateLimitOptions {
  /** Sustained requests per second allowed for one API key. */
  perSecond: number;
  /** Requests a key may send at once after being idle. */
  burst: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * A token bucket per API key, held in this process: each API replica enforces the limit on the
 * traffic it sees. Over the limit: 429 `rate_limited` with Retry-After.
 */
export function rateLimit({ perSecond, burst, now = Date.now }: RateLimitOptions): RequestHandler {
  const buckets = new Map<string, Bucket>();
  const sweep = setInterval(() => {
    const idleSince = now() - (burst / perSecond) * 1000;
    for (const [key, bucket] of buckets) if (bucket.updatedAt < idleSince) buckets.delete(key);
  }, 60_000);
  sweep.unref();

  return (_req, res, next) => {
    const { apiKeyId } = scopeOf(res);
    const at = now();
    const bucket = buckets.get(apiKeyId) ?? { tokens: burst, updatedAt: at };
    bucket.tokens = Math.min(burst, bucket.tokens + ((at - bucket.updatedAt) / 1000) * perSecond);
    bucket.updatedAt = at;
    buckets.set(apiKeyId, bucket);
    if (bucket.tokens < 1) {
      res.set('Retry-After', String(Math.ceil((1 - bucket.tokens) / perSecond)));
      throw new ApiError(429, 'rate_limited', `Too many requests for this API key: at most ${perSecond} per second`);
    }
    bucket.tokens -= 1;
    next();
  };
}
