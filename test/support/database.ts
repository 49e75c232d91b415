import pg from 'pg';
import { createDb, type Db } from '../../src/db.js';
import { createLogger } from '../../src/logger.js';
import { migrate } from '../../src/migrate.js';
import { testConfig } from './harness.js';

export interface FreshDatabase {
  url: string;
  db: Db;
  drop(): Promise<void>;
}

/**
 * A database of its own on the run's Postgres server, migrated from empty (unless asked not to):
 * for tests whose background work (a relay, a worker) must not share rows with the suite's worker.
 */
export async function freshDatabase(options: { migrated?: boolean } = {}): Promise<FreshDatabase> {
  const base = new URL(testConfig().DATABASE_URL);
  const name = `isolated_${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new pg.Client({ connectionString: base.toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  if (options.migrated !== false) await migrate(url.toString(), createLogger('silent', 'fresh-database'));
  const db = createDb(url.toString());
  return {
    url: url.toString(),
    db,
    async drop() {
      await db.$disconnect();
      const cleanup = new pg.Client({ connectionString: base.toString() });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await cleanup.end();
    },
  };
}
