import { eventsCommand } from './cli/events.js';
import { ConfigError, loadConfig, loadDotEnv } from './config.js';
import { createDatabase } from './db.js';
import { createLogger } from './logger.js';
import { migrate } from './migrate.js';
import { createRuntime, startApi, startWorker, stopOnSignal } from './runtime.js';

const ROLES = ['api', 'worker', 'migrate', 'events'] as const;
type Role = (typeof ROLES)[number];

async function main(role: Role): Promise<void> {
  loadDotEnv();
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, role);
  if (role === 'migrate') {
    const applied = await migrate(config.DATABASE_URL, logger);
    logger.info({ applied }, applied.length ? 'migrations applied' : 'database already up to date');
    return;
  }
  if (role === 'events') {
    const database = createDatabase(config.DATABASE_URL, 1);
    try {
      process.exitCode = await eventsCommand(process.argv.slice(3), { db: database.db, out: console.log, err: console.error });
    } finally {
      await database.close();
    }
    return;
  }
  const runtime = await createRuntime(config, logger);
  const part = role === 'api' ? await startApi(runtime, config, logger) : await startWorker(runtime, config, logger);
  stopOnSignal([runtime, part], logger);
}

const role = process.argv[2];
if (!ROLES.includes(role as Role)) {
  console.error(`usage: main.ts <${ROLES.join('|')}>`);
  process.exit(2);
}
main(role as Role).catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
