import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { packagedBinaries } from '../../src/dev/postgres-binaries.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../../src/dev/postgres.js';
import { freePort } from '../../src/dev/stack.js';

const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'warn', 'private-checkout-test');

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

/**
 * A clone in /root/app or a mktemp -d folder: mode 0700, so when root runs the tests (containers,
 * CI) the `postgres` user embedded Postgres runs as can enter neither node_modules nor ./.data.
 */
describe('embedded Postgres in a checkout other users cannot enter', () => {
  const cleanups: string[] = [];
  afterEach(async () => {
    for (const path of cleanups.splice(0)) await rm(path, { recursive: true, force: true });
  });

  async function privateFolder(): Promise<string> {
    const folder = await mkdtemp(join(tmpdir(), 'customer-lifecycle-private-'));
    cleanups.push(folder);
    expect((await stat(folder)).mode & 0o777).toBe(0o700);
    return folder;
  }

  it('runs binaries and keeps data that lie inside a 0700 folder, across a restart', async () => {
    const folder = await privateFolder();
    // A version of its own, so this run stages (copies and verifies) rather than reusing a copy.
    const binaries = { dir: join(folder, 'native'), version: `private-copy-${process.pid}-${Date.now()}` };
    await cp(packagedBinaries().dir, binaries.dir, { recursive: true, verbatimSymlinks: true });
    const options = {
      dataDir: join(folder, '.data', 'postgres'),
      port: await freePort(),
      database: 'private_checkout',
      persistent: true,
      binaries,
      logger,
    };
    let running: RunningPostgres | undefined;
    try {
      const first = (running = await startEmbeddedPostgres(options));
      cleanups.push(first.dataDir, first.binaries.dir);
      await query(first.url, "CREATE TABLE kept AS SELECT 'still here' AS note");
      await first.stop();
      running = undefined;

      const second = (running = await startEmbeddedPostgres(options));
      expect(second.dataDir).toBe(first.dataDir);
      expect(await query(second.url, 'SELECT note FROM kept')).toEqual([{ note: 'still here' }]);
    } finally {
      await running?.stop();
    }
  }, 180_000);

  it('throws away data it keeps for a run inside a 0700 folder when stopped', async () => {
    const folder = await privateFolder();
    const postgres = await startEmbeddedPostgres({
      dataDir: join(folder, 'postgres'),
      port: await freePort(),
      database: 'throw_away',
      persistent: false,
      logger,
    });
    cleanups.push(postgres.dataDir);
    try {
      expect(await query(postgres.url, 'SELECT current_database() AS db')).toEqual([{ db: 'throw_away' }]);
    } finally {
      await postgres.stop();
    }
    expect(existsSync(postgres.dataDir)).toBe(false);
  }, 120_000);
});
