import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/dev/stack.js';
import { createLogger } from '../../src/logger.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { freshDatabase, type FreshDatabase } from '../support/database.js';
import { eventually, testConfig } from '../support/harness.js';
import { startReceiver } from '../support/receiver.js';

function startRole(role: 'api' | 'worker', env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', role], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  return { child, output };
}

describe('logs never carry a secret or personal data', () => {
  let database: FreshDatabase;
  let runtime: Runtime;

  beforeAll(async () => {
    database = await freshDatabase();
    runtime = await createRuntime(testConfig({ DATABASE_URL: database.url }), createLogger('silent', 'log-scan'));
  });
  afterAll(async () => {
    await runtime.stop();
    await database.drop();
  });

  it('scans the debug logs of an API and a worker through a full run', async () => {
    const config = testConfig();
    const port = await freePort();
    const env = {
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: config.TEMPORAL_ADDRESS,
      TEMPORAL_TASK_QUEUE: `log-scan-${Date.now()}`,
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      WEBHOOK_RETRY_SCHEDULE: '200ms',
      OUTBOX_RELAY_INTERVAL_MS: '50',
      LOG_LEVEL: 'debug',
      PORT: String(port),
    };
    const api = startRole('api', env);
    const worker = startRole('worker', env);
    const base = `http://127.0.0.1:${port}`;
    const receiver = await startReceiver([500, 200]);
    const secrets: string[] = [];
    try {
      await eventually(async () => ((await fetch(`${base}/health`)).ok ? true : undefined), 30_000, 'api start');
      await eventually(async () => (worker.output.join('').includes('worker polling') ? true : undefined), 60_000, 'worker start');
      const issued = await runtime.services.merchants.createMerchant('Log scan');
      secrets.push(issued.key, 'ada.lovelace@example.com', '+14155550123', 'grace.hopper@example.org');
      const call = async (method: string, path: string, body?: unknown) => {
        const response = await fetch(`${base}${path}`, {
          method,
          headers: { 'x-api-key': issued.key, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        return { status: response.status, body: (await response.json()) as any };
      };
      const endpoint = await call('POST', '/v1/webhook_endpoints', { url: receiver.url });
      secrets.push(endpoint.body.secret);
      const rotated = await call('POST', `/v1/webhook_endpoints/${endpoint.body.id}/rotate_secret`, { overlap_hours: 1 });
      secrets.push(rotated.body.secret);
      const customer = await call('POST', '/v1/customers', { email: 'ada.lovelace@example.com', phone: '+14155550123', name: 'Ada' });
      expect((await call('POST', '/v1/customers', { email: 'ada.lovelace@example.com' })).status).toBe(409);
      expect((await call('PATCH', `/v1/customers/${customer.body.id}`, { email: 'not an email', phone: '+1415555' })).status).toBe(400);
      await call('GET', `/v1/customers?email=${encodeURIComponent('ada.lovelace@example.com')}`);
      await call('PUT', '/v1/customers/external/crm/g-1', { email: 'grace.hopper@example.org' });
      await call('PUT', '/v1/customers/external/batch', { items: [{ source: 'crm', external_id: 'g-1', email: 'grace.hopper@example.org' }, { source: 'crm', external_id: 'g-2', email: 'grace.hopper@example.org' }] });
      const wrongKey = await fetch(`${base}/v1/customers`, { headers: { 'x-api-key': `sk_live_${'Z'.repeat(32)}` } });
      expect(wrongKey.status).toBe(401);
      secrets.push(`sk_live_${'Z'.repeat(32)}`);
      await call('DELETE', `/v1/customers/${customer.body.id}`);
      await eventually(async () => ((await call('GET', `/v1/customers/${customer.body.id}/deletion`)).body.status === 'completed' ? true : undefined), 30_000, 'deletion');
      // A failed attempt (500), then the retry delivered: both were handled and logged by the worker.
      await eventually(async () => (receiver.answered >= 2 ? true : undefined), 30_000, 'deliveries');
    } finally {
      api.child.kill('SIGTERM');
      worker.child.kill('SIGTERM');
      await Promise.all([once(api.child, 'exit'), once(worker.child, 'exit')]);
      await receiver.stop();
    }
    const logs = api.output.join('') + worker.output.join('');
    expect(logs).toContain('request completed');
    expect(logs.split('\n').length).toBeGreaterThan(20);
    for (const secret of secrets) expect(logs.includes(secret), `logs contain ${secret.slice(0, 12)}…`).toBe(false);
    expect(logs).not.toMatch(/whsec_[A-Za-z0-9+/]{8,}/);
  }, 180_000);
});
