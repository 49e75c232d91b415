import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/harness.js';

const run = promisify(execFile);

// Concurrent: the tests share no rows, and most of their time is the CLI's process starting.
describe.concurrent('merchant CLI', () => {
  let api: TestApi;
  const cli = (...args: string[]) =>
    run(process.execPath, ['--import', 'tsx', 'src/main.ts', 'merchant', ...args], {
      env: { ...process.env, DATABASE_URL: api.config.DATABASE_URL },
    });

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.stop());

  it('creates a merchant, prints its key once, and revokes it', async () => {
    const { stdout } = await cli('create', 'CLI merchant', 'live');
    const key = stdout.match(/(sk_live_[A-Za-z0-9]{32})/)?.[1];
    const keyId = stdout.match(/key id\s+(key_\w+)/)?.[1];
    expect(key).toBeDefined();
    expect(keyId).toBeDefined();
    const created = await api.request('POST', '/v1/customers', { key, body: { name: 'via CLI key' } });
    expect(created.status).toBe(201);
    expect(created.body.environment).toBe('live');

    await cli('revoke-key', keyId!);
    // Another process revoked it: this API trusts its cached lookup for at most API_KEY_CACHE_MS.
    await new Promise((resolve) => setTimeout(resolve, api.config.API_KEY_CACHE_MS));
    expect((await api.request('GET', '/v1/customers', { key })).status).toBe(401);
  });

  it('explains its usage and fails on a bad environment', async () => {
    await expect(cli('create', 'Bad', 'staging')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining("environment must be sandbox or live, not 'staging'"),
    });
    await expect(cli('frobnicate')).rejects.toMatchObject({ stderr: expect.stringContaining('usage: merchant') });
  });

  it('is a command of the entrypoint, whose usage lists every command', async () => {
    const entrypoint = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args]);
    const { stdout } = await entrypoint('help');
    for (const form of ['api', 'worker', 'migrate', 'merchant create <name> [sandbox|live]', 'merchant issue-key', 'merchant revoke-key', 'merchant settings', 'secrets generate']) {
      expect(stdout).toMatch(new RegExp(`^  ${form.replace(/[[\]|]/g, '\\$&')}`, 'm'));
    }
    await expect(entrypoint('frobnicate')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('usage: node dist/src/main.js <command>') });
  });
});
