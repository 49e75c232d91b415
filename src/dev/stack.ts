import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import { startMailCatcher } from './mail.js';
import { DATABASE_NAME, startEmbeddedPostgres } from './postgres.js';
import { resolveTemporalCli } from './temporal-cli.js';
import { startTemporalDevServer } from './temporal-server.js';

export interface StackPorts {
  postgres: number;
  temporal: number;
  /** Omitted: no Temporal Web UI (tests). */
  temporalUi?: number;
  smtp: number;
  mailUi: number;
}

export interface StackOptions {
  /** Where Postgres, Temporal and MailDev keep their data. */
  dataDir: string;
  /** Keep data across restarts (dev) or throw it away (tests). */
  persistent: boolean;
  ports: StackPorts;
  namespace: string;
  /** Components already provided from outside: they are not started. */
  external: { databaseUrl?: string; temporalAddress?: string; smtpUrl?: string };
  logger: Logger;
}

export interface Stack {
  databaseUrl: string;
  temporalAddress: string;
  temporalUiUrl?: string;
  smtpUrl: string;
  mailUiUrl?: string;
  stop(): Promise<void>;
}

/** A free TCP port on the loopback interface, for components started by tests. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * Starts the embedded components the service needs, skipping any the environment points
 * elsewhere. Postgres and the Temporal CLI start in parallel (the CLI may have to be built first).
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const { logger, external, ports } = options;
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const stopOne of stops.reverse()) {
      await stopOne().catch((error: unknown) => logger.warn({ err: error }, 'a component did not stop cleanly'));
    }
  };
  // The Temporal server's database file and the mail folder go in it too, and may start first.
  if (options.persistent) await mkdir(options.dataDir, { recursive: true });
  // allSettled, not all: on a failure every component that did start must be known before stopping.
  const results = await Promise.allSettled([
      external.databaseUrl ??
        startEmbeddedPostgres({
          dataDir: join(options.dataDir, 'postgres'),
          port: ports.postgres,
          database: DATABASE_NAME,
          persistent: options.persistent,
          logger,
        }).then((pg) => {
          stops.push(pg.stop);
          return pg.url;
        }),
      external.temporalAddress
        ? { address: external.temporalAddress, uiUrl: undefined }
        : resolveTemporalCli(logger).then(async (cli) => {
            const server = await startTemporalDevServer({
              cli,
              port: ports.temporal,
              uiPort: ports.temporalUi,
              dbFilename: options.persistent ? join(options.dataDir, 'temporal.db') : undefined,
              namespace: options.namespace,
              logger,
            });
            stops.push(server.stop);
            return server;
          }),
      external.smtpUrl
        ? { smtpUrl: external.smtpUrl, webUrl: undefined }
        : startMailCatcher({
            smtpPort: ports.smtp,
            webPort: ports.mailUi,
            mailDirectory: options.persistent ? join(options.dataDir, 'mail') : undefined,
            logger,
          }).then((catcher) => {
            stops.push(catcher.stop);
            return catcher;
          }),
  ] as const);
  const [database, temporal, mail] = results;
  if (database.status === 'rejected' || temporal.status === 'rejected' || mail.status === 'rejected') {
    await stop();
    const failures = results.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []));
    throw failures.length === 1 ? failures[0] : new AggregateError(failures, 'the embedded stack did not start');
  }
  return {
    databaseUrl: database.value,
    temporalAddress: temporal.value.address,
    temporalUiUrl: temporal.value.uiUrl,
    smtpUrl: mail.value.smtpUrl,
    mailUiUrl: mail.value.webUrl,
    stop,
  };
}

/**
 * Every component embedded, on free ports, in a temporary folder that `stop` removes: for
 * benchmarks and scripts that need a stack of their own. `persistent` keeps the Temporal runs in a
 * SQLite file (with the dev stack's pragmas) rather than in memory.
 */
export async function startThrowawayStack(options: { name: string; persistent: boolean; logger: Logger }): Promise<Stack> {
  const dataDir = await mkdtemp(join(tmpdir(), `customer-lifecycle-${options.name}-`));
  // Readable by the unprivileged user embedded Postgres runs as when this runs as root.
  await chmod(dataDir, 0o755);
  try {
    const stack = await startStack({
      dataDir,
      persistent: options.persistent,
      ports: { postgres: await freePort(), temporal: await freePort(), smtp: await freePort(), mailUi: await freePort() },
      namespace: 'default',
      external: {},
      logger: options.logger,
    });
    return {
      ...stack,
      async stop() {
        await stack.stop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}
