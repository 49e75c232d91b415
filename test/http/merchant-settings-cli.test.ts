import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/harness.js';

const run = promisify(execFile);

// Concurrent: each test has a merchant of its own, and most of its time is the CLI's process starting.
describe.concurrent('merchant CLI: settings', () => {
  let api: TestApi;
  const cli = (...args: string[]) =>
    run(process.execPath, ['--import', 'tsx', 'src/main.ts', 'merchant', ...args], { env: { ...process.env, DATABASE_URL: api.config.DATABASE_URL } });

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.stop());

  it('sets the notification address and time zone of both environments the API then shows, and clears the address with none', async () => {
    const { merchantId, sandboxKey, liveKey } = await api.merchant('CLI settings');
    const { stdout } = await cli('settings', merchantId, 'notification_email=ops@cli.test', 'timezone=America/Chicago', 'support_email=help@cli.test');
    expect(stdout).toContain('notification_email  ops@cli.test');
    expect(stdout).toContain('support_email       help@cli.test');
    expect((await api.request('GET', '/v1/settings', { key: liveKey })).body.support_email).toBe('help@cli.test');
    expect(stdout).toContain('timezone            America/Chicago');
    expect((await api.request('GET', '/v1/settings', { key: sandboxKey })).body).toMatchObject({
      notification_email: 'ops@cli.test',
      timezone: 'America/Chicago',
    });
    expect((await api.request('GET', '/v1/settings', { key: liveKey })).body).toMatchObject({ notification_email: 'ops@cli.test', timezone: 'America/Chicago' });
    expect((await cli('settings', merchantId)).stdout).toContain('ops@cli.test');
    await cli('settings', merchantId, 'notification_email=none', 'support_email=none');
    expect((await api.request('GET', '/v1/settings', { key: sandboxKey })).body.notification_email).toBeNull();
    expect((await api.request('GET', '/v1/settings', { key: sandboxKey })).body.support_email).toBeNull();
  });

  it('sets one environment with --environment, leaving the other as it was', async () => {
    const { merchantId, sandboxKey, liveKey } = await api.merchant('CLI environments');
    const live = await cli('settings', merchantId, '--environment', 'live', 'notification_email=live-ops@cli.test', 'name=Acme Live');
    expect(live.stdout).toContain('environment         live\nname                Acme Live\nnotification_email  live-ops@cli.test');
    expect(live.stdout).not.toContain('environment         sandbox');
    await cli('settings', merchantId, '--environment=sandbox', 'timezone=Asia/Tokyo');
    expect((await api.request('GET', '/v1/settings', { key: liveKey })).body).toMatchObject({
      environment: 'live',
      name: 'Acme Live',
      notification_email: 'live-ops@cli.test',
      timezone: 'UTC',
    });
    expect((await api.request('GET', '/v1/settings', { key: sandboxKey })).body).toMatchObject({
      environment: 'sandbox',
      name: 'CLI environments',
      notification_email: null,
      timezone: 'Asia/Tokyo',
    });
    // Without the option it reads both.
    const both = (await cli('settings', merchantId)).stdout;
    expect(both).toContain('environment         sandbox\nname                CLI environments\nnotification_email  none\ntimezone            Asia/Tokyo');
    expect(both).toContain('environment         live\nname                Acme Live\nnotification_email  live-ops@cli.test\ntimezone            UTC');
    await expect(cli('settings', merchantId, '--environment', 'staging', 'timezone=UTC')).rejects.toMatchObject({
      stderr: expect.stringContaining("environment must be sandbox or live, not 'staging'"),
    });
  });

  it('refuses a bad address or zone, naming it, and an unknown merchant', async () => {
    const { merchantId } = await api.merchant('CLI settings errors');
    await expect(cli('settings', merchantId, 'notification_email=nope', 'timezone=Nowhere/Land')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/notification_email: expected an email address[\s\S]*timezone: expected an IANA time zone/),
    });
    await expect(cli('settings', 'mer_01JD3Z6Q4W8V2G7R1M5K9T0XYZ', 'timezone=UTC')).rejects.toMatchObject({
      stderr: expect.stringContaining("No such merchant: 'mer_01JD3Z6Q4W8V2G7R1M5K9T0XYZ'"),
    });
    await expect(cli('settings', merchantId, 'colour')).rejects.toMatchObject({ stderr: expect.stringContaining('usage: merchant settings') });
  });
});
