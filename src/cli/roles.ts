import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { migrate } from '../migrate.js';
import { createRuntime, startApi, startWorker, stopOnSignal } from '../runtime.js';
import type { Command } from './command.js';

/** Runs the API or the worker until SIGTERM or SIGINT. */
async function serve(role: 'api' | 'worker'): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, role);
  const runtime = await createRuntime(config, logger);
  const part = role === 'api' ? await startApi(runtime, config, logger) : await startWorker(runtime, config, logger);
  stopOnSignal([runtime, part], logger);
}

export const apiRole: Command = {
  name: 'api',
  usage: [{ args: '', does: 'serve the HTTP API on PORT (the image runs this without a command)' }],
  run: () => serve('api'),
};

export const workerRole: Command = {
  name: 'worker',
  usage: [{ args: '', does: 'run the Temporal worker, the outbox relay and the reconcilers' }],
  run: () => serve('worker'),
};

export const migrateRole: Command = {
  name: 'migrate',
  usage: [{ args: '', does: 'apply prisma/migrations to DATABASE_URL, then exit' }],
  async run() {
    const config = loadConfig();
    const logger = createLogger(config.LOG_LEVEL, 'migrate');
    const applied = await migrate(config.DATABASE_URL, logger);
    logger.info({ applied }, applied.length ? 'migrations applied' : 'database already up to date');
  },
};
