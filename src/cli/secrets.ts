import { randomBytes } from 'node:crypto';
import { CommandError, type Command } from './command.js';

/**
 * Fresh values of the secrets a deployment sets, as `.env` lines: the key that encrypts secrets at
 * rest (its id carries the date, so the older of two keys is plain during a rotation) and the
 * Postgres password of docker-compose.yml (hex: it is embedded in DATABASE_URL, so URL-safe).
 */
export function generateSecrets(today = new Date()): Record<string, string> {
  const keyId = `k${today.toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(2).toString('hex')}`;
  return {
    SECRETS_ENCRYPTION_KEYS: `${keyId}:${randomBytes(32).toString('base64')}`,
    POSTGRES_PASSWORD: randomBytes(24).toString('hex'),
  };
}

export const secretsCommand: Command = {
  name: 'secrets',
  usage: [{ args: 'generate', does: 'print fresh SECRETS_ENCRYPTION_KEYS and POSTGRES_PASSWORD lines for .env' }],
  async run([subcommand, ...rest]) {
    if (subcommand !== 'generate' || rest.length > 0) throw new CommandError('usage: secrets generate');
    console.error('# For .env beside docker-compose.yml. Keep a copy: without the key, stored webhook secrets cannot be read.');
    for (const [name, value] of Object.entries(generateSecrets())) console.log(`${name}=${value}`);
  },
};
