import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type RunningPostgres } from '../../src/dev/postgres.js';
import { freePort } from '../../src/dev/stack.js';
import { createLogger } from '../../src/logger.js';
import { migrate } from '../../src/migrate.js';
import { createRuntime, startWorker, type Running, type Runtime } from '../../src/runtime.js';
import { eventually, startTestApi, testConfig, type TestApi } from '../support/harness.js';
import { startReceiver } from '../support/receiver.js';

describe('Postgres stopped under load', () => {
  const logger = createLogger('silent', 'postgres-outage');
  let dataDir: string;
  let port: number;
  let postgres: RunningPostgres;
  let runtime: Runtime;
  let worker: Running;
  let api: TestApi;

  const startPostgres = () => startEmbeddedPostgres({ dataDir: join(dataDir, 'pg'), port, database: 'outage', persistent: true, logger });

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'postgres-outage-'));
    await chmod(dataDir, 0o755);
    port = await freePort();
    postgres = await startPostgres();
    await migrate(postgres.url, logger);
    const overrides = { DATABASE_URL: postgres.url, TEMPORAL_TASK_QUEUE: `pg-outage-${process.pid}`, OUTBOX_RELAY_INTERVAL_MS: '50' };
    const config = testConfig(overrides);
    runtime = await createRuntime(config, logger);
    worker = await startWorker(runtime, config, logger);
    api = await startTestApi(overrides);
  }, 120_000);
  afterAll(async () => {
    await api.stop();
    await worker.stop();
    await runtime.stop();
    await postgres.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers 503 (never 500, never a hang) while it is down, and the API and worker recover on their own', async () => {
    const { sandboxKey: key } = await api.merchant('Outage');
    const receiver = await startReceiver([200]);
    await api.request('POST', '/v1/webhook_endpoints', { key, body: { url: receiver.url, enabled_events: ['customer.created'] } });
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: { name: 'before' } });
    await eventually(async () => (receiver.received.length === 1 ? true : undefined), 20_000, 'delivery before the outage');

    await postgres.stop();
    const statuses: number[] = [];
    const durations: number[] = [];
    for (const [method, path, body] of [
      ['GET', `/v1/customers/${customer.id}`, undefined],
      ['POST', '/v1/customers', { name: 'during' }],
      ['GET', '/v1/customers', undefined],
      ['PATCH', `/v1/customers/${customer.id}`, { name: 'during' }],
    ] as const) {
      const started = Date.now();
      const response = await api.request(method, path, { key, body });
      durations.push(Date.now() - started);
      statuses.push(response.status);
      if (response.status === 503) {
        expect(response.body.error.type).toBe('unavailable');
        expect(response.headers.get('retry-after')).toBe('5');
      }
    }
    // The API key was checked recently, so the key cache answers; every database call is a 503.
    expect(statuses).toEqual([503, 503, 503, 503]);
    // Within the pool's connection timeout (5 s), with room for a slow machine.
    expect(Math.max(...durations)).toBeLessThan(15_000);
    const ready = await api.request('GET', '/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.checks.database).not.toBe('ok');

    postgres = await startPostgres();
    // Recovered without a restart: the API serves and writes again, the worker relays and delivers.
    const after = await eventually(async () => {
      const response = await api.request('POST', '/v1/customers', { key, body: { name: 'after' } });
      return response.status === 201 ? response : undefined;
    }, 30_000, 'the API to write again');
    expect(after.body.name).toBe('after');
    expect((await api.request('GET', '/ready')).status).toBe(200);
    await eventually(async () => (receiver.received.length === 2 ? true : undefined), 30_000, 'delivery after the outage');
    expect(JSON.parse(receiver.received[1]!.body).data.object.id).toBe(after.body.id);
    await receiver.stop();
  }, 120_000);
});
