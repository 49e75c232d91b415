import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
});
