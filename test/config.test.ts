import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateSecrets } from '../src/cli/secrets.js';
import { ConfigError, ConfigSchema, loadConfig, publicBaseUrl, secretBox, smsProviderName } from '../src/config.js';
import { PROJECT_ROOT } from '../src/lib/paths.js';

describe('configuration', () => {
  const valid = { DATABASE_URL: 'postgresql://u:p@localhost:5432/db' };

  it('applies defaults', () => {
    const config = loadConfig(valid);
    expect(config).toMatchObject({ PORT: 3000, TEMPORAL_ADDRESS: 'localhost:7233', TEMPORAL_NAMESPACE: 'default', SMTP_URL: 'smtp://localhost:1025' });
  });

  it('names every bad variable', () => {
    const attempt = () => loadConfig({ DATABASE_URL: 'mysql://x', PORT: 'eighty', TEMPORAL_ADDRESS: 'no-port', WEBHOOK_RETRY_SCHEDULE: '5s,soon' });
    expect(attempt).toThrow(ConfigError);
    for (const name of ['DATABASE_URL', 'PORT', 'TEMPORAL_ADDRESS', 'WEBHOOK_RETRY_SCHEDULE']) {
      expect(attempt).toThrow(new RegExp(`^  ${name}: `, 'm'));
    }
  });

  it('requires DATABASE_URL', () => {
    expect(() => loadConfig({})).toThrow(/DATABASE_URL/);
  });

  it('treats an empty value as unset, as Compose passes ${VAR:-}', () => {
    const config = loadConfig({ ...valid, PORT: '', TWILIO_ACCOUNT_SID: '', SMS_PROVIDER: '' });
    expect([config.PORT, config.TWILIO_ACCOUNT_SID, config.SMS_PROVIDER]).toEqual([3000, undefined, undefined]);
  });

  describe('in production', () => {
    const production = { ...valid, NODE_ENV: 'production', PUBLIC_BASE_URL: 'https://customers.example.com', ...generateSecrets() };

    it('starts with what docs/deploy.md has the user set: the generated secrets and the public address', () => {
      const config = loadConfig(production);
      expect(publicBaseUrl(config)).toBe('https://customers.example.com');
      const box = secretBox(config);
      expect(box.currentKeyId).toMatch(/^k\d{8}-[0-9a-f]{4}$/);
      expect(box.decrypt(box.encrypt('whsec_x'))).toBe('whsec_x');
    });

    it('names every missing requirement in one report, beside any other bad variable', () => {
      const attempt = () => loadConfig({ NODE_ENV: 'production', PORT: 'eighty', SMS_PROVIDER: 'dev' });
      expect(attempt).toThrow(ConfigError);
      for (const name of ['PORT', 'DATABASE_URL', 'SECRETS_ENCRYPTION_KEYS', 'PUBLIC_BASE_URL', 'SMS_PROVIDER']) {
        expect(attempt).toThrow(new RegExp(`^  ${name}: `, 'm'));
      }
      expect(attempt).toThrow(/SECRETS_ENCRYPTION_KEYS: required in production \(make one with `node dist\/src\/main.js secrets generate`\)/);
    });

    it('refuses the dev SMS provider, which would mail every SMS through the real SMTP relay', () => {
      expect(() => loadConfig({ ...production, SMS_PROVIDER: 'dev' })).toThrow(/^  SMS_PROVIDER: dev is not allowed in production/m);
    });

    it('runs without an SMS provider unless one is named; development keeps the recording one', () => {
      expect(smsProviderName(loadConfig(production))).toBe('none');
      expect(smsProviderName(loadConfig({ ...production, SMS_PROVIDER: '' }))).toBe('none');
      expect(smsProviderName(loadConfig(valid))).toBe('dev');
      expect(smsProviderName(loadConfig({ ...valid, NODE_ENV: 'test', SMS_PROVIDER: 'none' }))).toBe('none');
    });

    it('keeps its requirements out of development and tests', () => {
      expect(publicBaseUrl(loadConfig({ ...valid, PORT: '4000' }))).toBe('http://localhost:4000');
      expect(() => secretBox(loadConfig({ ...valid, NODE_ENV: 'test' }))).not.toThrow();
    });
  });

  it('.env.example documents every variable the service reads', () => {
    const example = readFileSync(join(PROJECT_ROOT, '.env.example'), 'utf8');
    const documented = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((match) => match[1]));
    expect(Object.keys(ConfigSchema.shape).filter((name) => !documented.has(name))).toEqual([]);
  });
});
