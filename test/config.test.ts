import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, ConfigSchema, loadConfig } from '../src/config.js';
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

  it('.env.example documents every variable the service reads', () => {
    const example = readFileSync(join(PROJECT_ROOT, '.env.example'), 'utf8');
    const documented = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((match) => match[1]));
    expect(Object.keys(ConfigSchema.shape).filter((name) => !documented.has(name))).toEqual([]);
  });
});
