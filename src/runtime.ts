import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { createActivities } from '../activities/index.js';
import { ConfigError, type Config } from './config.js';
import { createDatabase, type Db, type SqlPool } from './db.js';
import { createApp } from './http/app.js';
import type { Logger } from './logger.js';
import { EventBus } from './events/event-bus.js';
import { startHousekeeping, workerTasks } from './housekeeping/housekeeping.js';
import { createServices, createSubscribers, onEventParked, type Services } from './services.js';
import { ensureSchedules, serviceSchedules } from './temporal/schedules.js';
import { connectClient, createWorker, ensureSearchAttributes } from './temporal/temporal.js';

/** A started part of the service and the way to stop it. */
export interface Running {
  stop(): Promise<void>;
}

export interface Runtime extends Running {
  db: Db;
  pool: SqlPool;
  temporal: Client;
  services: Services;
}

/** The dependencies both roles share: database, Temporal client and the domain services. */
export async function createRuntime(config: Config, logger: Logger): Promise<Runtime> {
  const database = createDatabase(config.DATABASE_URL, config.DATABASE_POOL_SIZE);
  const temporal = await connectClient({ address: config.TEMPORAL_ADDRESS, namespace: config.TEMPORAL_NAMESPACE });
  const services = createServices({ db: database.db, pool: database.pool, temporal, config, logger });
  return {
    db: database.db,
    pool: database.pool,
    temporal,
    services,
    async stop() {
      services.mailer.close();
      await services.renderer.close();
      await temporal.connection.close();
      await database.close();
    },
  };
}

export async function startApi(runtime: Runtime, config: Config, logger: Logger): Promise<Running & { url: string }> {
  const app = createApp({ db: runtime.db, pool: runtime.pool, config, logger, merchants: runtime.services.merchants, handlers: runtime.services });
  const server = createServer(app);
  // Longer than the idle timeout of common clients and load balancers (60 s), so the server is not
  // the side that closes a keep-alive connection while a client is reusing it.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  // While stopping, a response still in flight closes its connection once sent: its keep-alive
  // socket must not hold the drain open until keepAliveTimeout.
  let stopping = false;
  const inFlight = new Set<ServerResponse>();
  server.on('request', (_request, response: ServerResponse) => {
    if (stopping) response.setHeader('connection', 'close');
    inFlight.add(response);
    response.once('close', () => {
      inFlight.delete(response);
      if (stopping) setImmediate(() => server.closeIdleConnections());
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new ConfigError(`port ${config.PORT} (PORT) is already in use: stop what listens there or set PORT to a free port`)
          : error,
      ),
    );
    server.listen(config.PORT, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  logger.info({ port }, 'API listening');
  return {
    url: `http://localhost:${port}`,
    async stop() {
      // Stop taking connections, let in-flight requests finish, then drop idle keep-alive sockets.
      stopping = true;
      for (const response of inFlight) if (!response.headersSent) response.setHeader('connection', 'close');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await closed;
    },
  };
}

/**
 * Runs the Temporal worker (with the service's schedules in place) and the housekeeping passes:
 * the outbox relay that feeds the event bus, the idempotency purge and the reconcilers.
 */
export async function startWorker(runtime: Runtime, config: Config, logger: Logger): Promise<Running> {
  await ensureSearchAttributes(runtime.temporal, config.TEMPORAL_NAMESPACE, logger);
  await ensureSchedules(runtime.temporal, config.TEMPORAL_TASK_QUEUE, serviceSchedules(config), logger);
  const { worker, connection } = await createWorker({
    address: config.TEMPORAL_ADDRESS,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    activities: createActivities(runtime.services),
    logger,
    shutdownGraceMs: config.WORKER_SHUTDOWN_GRACE_MS,
  });
  const running = worker.run();
  logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE }, 'worker polling');

  const bus = new EventBus({ db: runtime.db, subscribers: createSubscribers(runtime.services), logger, onParked: onEventParked(runtime.services) });
  const housekeeping = startHousekeeping(workerTasks({ bus, services: runtime.services, config }), logger);

  return {
    async stop() {
      await housekeeping.stop();
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

/** How long a process that crashed drains before it exits anyway. */
export const CRASH_DRAIN_LIMIT_MS = 30_000;

/**
 * Stops the parts in reverse order of start on SIGTERM or SIGINT (exit 0). A signal in the first
 * second is the same Ctrl-C arriving twice (from the terminal and again forwarded by npm) and is
 * ignored; a later one exits at once. Parts pushed to the array later are stopped too.
 *
 * A stray promise rejection or an uncaught exception stops the process the same way, but exits 1
 * (the supervisor restarts it): logged with its error and origin, then the parts stop taking work
 * and drain (requests and activities in flight finish), for at most CRASH_DRAIN_LIMIT_MS.
 */
export function stopOnSignal(parts: Running[], logger: Logger): void {
  let stoppingSince: number | undefined;
  let crashed = false;
  const stop = async (reason: string, exitCode: 0 | 1) => {
    if (exitCode === 1) crashed = true;
    if (stoppingSince !== undefined) {
      if (exitCode === 1 || Date.now() - stoppingSince < 1_000) return;
      logger.warn(`${reason} received again, exiting without waiting`);
      process.exit(1);
    }
    stoppingSince = Date.now();
    if (exitCode === 1) setTimeout(() => process.exit(1), CRASH_DRAIN_LIMIT_MS).unref();
    try {
      for (const part of [...parts].reverse()) await part.stop();
      // A crash while a signal's shutdown drains still ends the process as failed.
      process.exit(crashed ? 1 : 0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  const onSignal = (signal: string) => {
    if (stoppingSince === undefined) logger.info(`${signal} received, shutting down`);
    void stop(signal, 0);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const onCrash = (origin: 'unhandledRejection' | 'uncaughtException') => (error: unknown) => {
    logger.fatal(
      { err: error, origin, draining: stoppingSince === undefined },
      `${origin === 'unhandledRejection' ? 'unhandled promise rejection' : 'uncaught exception'}: ` +
        `${error instanceof Error ? error.message : String(error)}; draining, then exiting with code 1`,
    );
    void stop(origin, 1);
  };
  process.on('unhandledRejection', onCrash('unhandledRejection'));
  process.on('uncaughtException', onCrash('uncaughtException'));
}
