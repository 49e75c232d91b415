import type { NextFunction, Request, Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rateLimit } from '../../src/http/rate-limit.js';
import { ApiError } from '../../src/lib/errors.js';
import { startTestApi, type TestApi } from '../support/harness.js';

describe('rate limit per API key', () => {
  let api: TestApi;

  beforeAll(async () => {
    // One token every ten seconds: the test's requests never see a refill, however slow the machine.
    api = await startTestApi({ RATE_LIMIT_PER_SECOND: '0.1', RATE_LIMIT_BURST: '3' });
  });
  afterAll(() => api.stop());

  it('answers 429 rate_limited with Retry-After once a key spends its burst, leaving other keys alone', async () => {
    const busy = await api.merchant('Busy');
    const quiet = await api.merchant('Quiet');
    const statuses: number[] = [];
    let limited;
    for (let i = 0; i < 5; i++) {
      const response = await api.request('GET', '/v1/customers', { key: busy.sandboxKey });
      statuses.push(response.status);
      if (response.status === 429) limited = response;
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(limited!.body.error.type).toBe('rate_limited');
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await api.request('GET', '/v1/customers', { key: quiet.sandboxKey })).status).toBe(200);
    // The sandbox and live keys of one merchant are separate keys with separate buckets.
    expect((await api.request('GET', '/v1/customers', { key: busy.liveKey })).status).toBe(200);
  });

  it('holds across API processes: the bucket is shared through Postgres', async () => {
    const second = await startTestApi({ RATE_LIMIT_PER_SECOND: '0.1', RATE_LIMIT_BURST: '4' });
    const third = await startTestApi({ RATE_LIMIT_PER_SECOND: '0.1', RATE_LIMIT_BURST: '4' });
    try {
      const { sandboxKey } = await api.merchant('Spread out');
      const statuses: number[] = [];
      // Spread over two processes, per-process buckets would let 8 of these through.
      for (let i = 0; i < 8; i++) statuses.push((await [second, third][i % 2]!.request('GET', '/v1/customers', { key: sandboxKey })).status);
      expect(statuses.filter((status) => status === 200)).toHaveLength(4);
      expect(statuses.filter((status) => status === 429)).toHaveLength(4);
    } finally {
      await second.stop();
      await third.stop();
    }
  });

  it('lets every request of a concurrent burst within the bucket through, however many wait on one lease', async () => {
    // Called directly so that all 150 are truly in flight at once: they wait on the same refill, whose
    // lease (10 tokens at 100/s) the first ten spend. The other 140 must fetch more, not be refused.
    const { merchantId } = await api.merchant('Burst');
    const { id: apiKeyId } = await api.runtime.db.apiKey.findFirstOrThrow({ where: { merchantId, environment: 'sandbox' } });
    const limiter = rateLimit(api.runtime.pool, { perSecond: 100, burst: 200 });
    const attempt = async (): Promise<string> => {
      const res = { locals: { auth: { apiKeyId } }, set: () => res } as unknown as Response;
      try {
        let passed = false;
        await limiter({} as Request, res, (() => (passed = true)) as NextFunction);
        return passed ? 'passed' : 'stopped';
      } catch (error) {
        return error instanceof ApiError ? error.type : String(error);
      }
    };
    const outcomes = await Promise.all(Array.from({ length: 150 }, attempt));
    expect(outcomes.filter((outcome) => outcome !== 'passed')).toEqual([]);
    // And the bucket still refuses past its burst: 200 granted at most (plus what refilled meanwhile).
    const more = await Promise.all(Array.from({ length: 150 }, attempt));
    expect(more.filter((outcome) => outcome === 'rate_limited').length).toBeGreaterThan(0);
  });
});
