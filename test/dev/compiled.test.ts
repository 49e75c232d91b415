import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/dev/stack.js';
import { PROJECT_ROOT } from '../../src/lib/paths.js';
import { buildOnce } from '../support/build.js';
import { MerchantService } from '../../src/merchants/merchant.service.js';
import { freshDatabase, type FreshDatabase } from '../support/database.js';
import { eventually, testConfig } from '../support/harness.js';

/** `node dist/src/main.js <role>`, as `npm run start:<role>` and the Dockerfile run it. */
function compiled(role: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ['dist/src/main.js', role], { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  return { child, output };
}

describe('production runs the compiled JavaScript', () => {
  let database: FreshDatabase;

  beforeAll(async () => {
    await buildOnce();
    database = await freshDatabase({ migrated: false });
  }, 180_000);
  afterAll(() => database.drop());

  it('migrates, serves the API and runs a worker from dist/, without tsx', async () => {
    const config = testConfig();
    const env = {
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: config.TEMPORAL_ADDRESS,
      NODE_ENV: 'production',
      SECRETS_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      PUBLIC_BASE_URL: 'https://customers.example.test',
      NODE_OPTIONS: '',
    };
    const migrated = compiled('migrate', env);
    const [migrateCode] = await once(migrated.child, 'exit');
    expect(migrateCode, migrated.output.join('')).toBe(0);
    expect(migrated.output.join('')).toContain('migrations applied');

    const port = await freePort();
    const api = compiled('api', { ...env, PORT: String(port) });
    const worker = compiled('worker', { ...env, TEMPORAL_TASK_QUEUE: `compiled-${Date.now()}` });
    try {
      await eventually(async () => ((await fetch(`http://127.0.0.1:${port}/health`)).ok ? true : undefined), 30_000, 'compiled api');
      const document = await (await fetch(`http://127.0.0.1:${port}/openapi.json`)).json();
      expect(document).toMatchObject({ openapi: '3.1.0', paths: expect.objectContaining({ '/v1/customers': expect.any(Object) }) });
      // Templates render in worker threads started from dist/src/sequences/sequence.render-thread.js.
      const { key } = await new MerchantService({ db: database.db }).createMerchant('Compiled', 'sandbox');
      const saved = await fetch(`http://127.0.0.1:${port}/v1/sequences`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        body: JSON.stringify({
          name: 'Compiled',
          trigger_tag: 'compiled',
          steps: [
            { channel: 'email', template: { subject: 'Hi', html: '<p>Hi {{ customer.name }}</p>' } },
            { channel: 'sms', template: { body: '{% for i in (1..70000) %}{{ customer.name }}{% endfor %}' } },
          ],
        }),
      });
      expect(saved.status).toBe(400);
      expect(((await saved.json()) as { error: { errors: unknown } }).error.errors).toEqual([{ param: 'steps.1.template.body', message: expect.stringContaining('TEMPLATE_PART_MAX_BYTES') }]);
      // The worker bundles dist/workflows (compiled) and polls.
      await eventually(async () => (worker.output.join('').includes('worker polling') ? true : undefined), 60_000, 'compiled worker');
    } finally {
      api.child.kill('SIGTERM');
      worker.child.kill('SIGTERM');
      const [[apiCode], [workerCode]] = await Promise.all([once(api.child, 'exit'), once(worker.child, 'exit')]);
      expect([apiCode, workerCode], api.output.join('') + worker.output.join('')).toEqual([0, 0]);
    }
  });
});
