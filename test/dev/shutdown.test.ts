import { once } from 'node:events';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/dev/stack.js';
import { PROJECT_ROOT } from '../../src/lib/paths.js';
import { createLogger } from '../../src/logger.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { freshDatabase, type FreshDatabase } from '../support/database.js';
import { eventually, startTestApi, testConfig } from '../support/harness.js';
import { startReceiver } from '../support/receiver.js';
import { startRole } from '../support/roles.js';

/** Well under the API's keep-alive timeout (65 s) and the crash drain's limit (30 s). */
const KEEP_ALIVE_OR_CRASH_LIMIT_MS = 15_000;

describe('graceful shutdown of the production roles', () => {
  it('a busy PORT stops the API at start-up with a message naming it, not a stack trace', async () => {
    const config = testConfig();
    const occupier = createServer();
    await new Promise<void>((resolve) => occupier.listen(0, resolve));
    const port = (occupier.address() as AddressInfo).port;
    try {
      const { child, output } = startRole('api', {
        DATABASE_URL: config.DATABASE_URL,
        TEMPORAL_ADDRESS: config.TEMPORAL_ADDRESS,
        PORT: String(port),
      });
      const [code] = await once(child, 'exit');
      const log = output.join('');
      expect(code).toBe(1);
      expect(log).toContain(`port ${port} (PORT) is already in use`);
      expect(log).not.toMatch(/\n\s+at /);
    } finally {
      occupier.close();
    }
  });

  /**
   * The API role as its own process, with a PATCH in flight inside it: the customer's row is held
   * by another connection until `release`, so the request waits in the API meanwhile.
   */
  async function apiWithRequestInFlight(merchant: string, name: string, preload: string[] = []) {
    const config = testConfig();
    const port = await freePort();
    const role = startRole(
      'api',
      { DATABASE_URL: config.DATABASE_URL, TEMPORAL_ADDRESS: config.TEMPORAL_ADDRESS, PORT: String(port), LOG_LEVEL: 'info' },
      preload,
    );
    const exited = once(role.child, 'exit');
    let releasedAt = 0;
    const base = `http://127.0.0.1:${port}`;
    await eventually(async () => ((await fetch(`${base}/health`)).ok ? true : undefined), 30_000, 'api start');

    const helper = await startTestApi();
    const { sandboxKey: key } = await helper.merchant(merchant);
    const { body: customer } = await helper.request('POST', '/v1/customers', { key, body: { name: 'before' } });
    await helper.stop();
    const locker = new pg.Client({ connectionString: config.DATABASE_URL });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('SELECT 1 FROM customers WHERE id = $1 FOR UPDATE', [customer.id]);
    const inFlight = fetch(`${base}/v1/customers/${customer.id}`, {
      method: 'PATCH',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    return {
      ...role,
      base,
      /** Lets the PATCH go on; answers its response, which must be 200 with the new name. */
      async release() {
        await locker.query('COMMIT');
        releasedAt = Date.now();
        await locker.end();
        const response = await inFlight;
        expect(response.status).toBe(200);
        // The connection the request came on is not kept alive: it would hold the drain open.
        expect(response.headers.get('connection')).toBe('close');
        expect(((await response.json()) as { name: string }).name).toBe(name);
      },
      /**
       * The exit code, once the process exits. Not a speed check: a drain still waiting out the
       * request's keep-alive connection (65 s) or the crash drain's limit (30 s) fails it.
       */
      async exitCode() {
        const [code] = await exited;
        expect(Date.now() - releasedAt, 'the drain waited for an idle keep-alive connection').toBeLessThan(KEEP_ALIVE_OR_CRASH_LIMIT_MS);
        return code;
      },
    };
  }

  it('the API drains on SIGTERM: a request in flight finishes, then it exits 0', async () => {
    const { child, output, release, exitCode } = await apiWithRequestInFlight('Shutdown', 'during shutdown');
    child.kill('SIGTERM');
    await eventually(async () => (output.join('').includes('SIGTERM received') ? true : undefined), 5_000, 'SIGTERM logged');
    await release();
    expect(await exitCode(), output.join('')).toBe(0);
  }, 120_000);

  it('the API stops on a stray promise rejection: logged with its error, the request in flight finishes, then it exits 1', async () => {
    const hook = pathToFileURL(join(PROJECT_ROOT, 'test/support/stray-rejection.mjs')).href;
    const { child, output, base, release, exitCode } = await apiWithRequestInFlight('Stray rejection', 'during the crash', [hook]);
    await fetch(`${base}/health`, { headers: { 'x-test-stray-rejection': 'forgotten await' } });
    const crashLine = await eventually(
      async () => output.join('').split('\n').find((line) => line.includes('unhandled promise rejection')),
      5_000,
      'the rejection logged',
    );
    expect(JSON.parse(crashLine)).toMatchObject({
      level: 60,
      origin: 'unhandledRejection',
      err: expect.objectContaining({ message: 'stray rejection: forgotten await', stack: expect.stringContaining('stray-rejection.mjs') }),
    });
    // It takes no new work while draining, and waits for the request in flight.
    await expect(fetch(`${base}/health`)).rejects.toThrow();
    expect(child.exitCode).toBeNull();
    await release();
    expect(await exitCode(), output.join('')).toBe(1);
  }, 120_000);

  describe('the worker', () => {
    // A database of its own, so the only relay and worker handling this endpoint are the child's.
    let database: FreshDatabase;
    let runtime: Runtime;

    beforeAll(async () => {
      database = await freshDatabase();
      runtime = await createRuntime(testConfig({ DATABASE_URL: database.url }), createLogger('silent', 'shutdown-test'));
    });
    afterAll(async () => {
      await runtime.stop();
      await database.drop();
    });

    it('drains on SIGTERM: an activity in flight finishes and records its outcome, then it exits 0', async () => {
      const config = testConfig();
      const receiver = await startReceiver([200], { delayMs: 2_500 });
      const { child, output } = startRole('worker', {
        DATABASE_URL: database.url,
        TEMPORAL_ADDRESS: config.TEMPORAL_ADDRESS,
        TEMPORAL_TASK_QUEUE: `shutdown-check-${Date.now()}`,
        WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
        OUTBOX_RELAY_INTERVAL_MS: '50',
        LOG_LEVEL: 'info',
      });
      await eventually(async () => (output.join('').includes('worker polling') ? true : undefined), 60_000, 'worker start');

      const { services } = runtime;
      const { merchantId } = await services.merchants.createMerchant('Draining worker');
      const scope = { merchantId, environment: 'sandbox' as const };
      const endpoint = await services.webhooks.createEndpoint(scope, { url: receiver.url, enabled_events: ['*'] });
      await services.customers.create(scope, { name: 'delivered while draining' });
      // The delivery activity is now waiting for the slow receiver's answer.
      await eventually(async () => (receiver.received.length === 1 ? true : undefined), 20_000, 'delivery attempt');
      child.kill('SIGTERM');

      const [code] = await once(child, 'exit');
      const log = output.join('');
      expect(code, log).toBe(0);
      expect(log).toMatch(/"state":"STOPPED"|state: 'STOPPED'/);
      expect(receiver.answered).toBe(1);
      const [delivery] = await database.db.webhookDelivery.findMany({ where: { endpointId: endpoint.id } });
      expect(delivery).toMatchObject({ status: 'succeeded', attempts: 1, lastStatusCode: 200 });
      await receiver.stop();
    });
  });
});
