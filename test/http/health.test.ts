import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/harness.js';

describe('health and readiness', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.stop());

  it('/health answers while the process is up', async () => {
    const response = await api.request('GET', '/health');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ok' });
  });

  it('/ready reports the database and Temporal as reachable', async () => {
    const response = await api.request('GET', '/ready');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ready', checks: { database: 'ok', temporal: 'ok' } });
  });

  it('/ready answers 503 naming the dependency that is down', async () => {
    const broken = await startTestApi({ DATABASE_URL: 'postgresql://nobody:nothing@127.0.0.1:9/none' });
    try {
      const response = await broken.request('GET', '/ready');
      expect(response.status).toBe(503);
      expect(response.body.status).toBe('not_ready');
      expect(response.body.checks.temporal).toBe('ok');
      expect(response.body.checks.database).toBe('unreachable');
      // The driver's error names hosts and ports; none of it is echoed to whoever asks.
      expect(JSON.stringify(response.body)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|:9\b|nobody/);
    } finally {
      await broken.stop();
    }
  });

  it('every response carries a request id, echoing a sane caller-provided one', async () => {
    const generated = await api.request('GET', '/health');
    expect(generated.headers.get('request-id')).toMatch(/^req_/);
    const echoed = await api.request('GET', '/health', { headers: { 'x-request-id': 'trace-123' } });
    expect(echoed.headers.get('request-id')).toBe('trace-123');
  });
});
