import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError, ConfigSchema, loadConfig, loadDotEnv } from '../config.js';
import type { Db } from '../db.js';
import { createLogger, type Logger } from '../logger.js';
import type { MerchantService } from '../merchants/merchant.service.js';
import { migrate } from '../migrate.js';
import { PROJECT_ROOT } from '../lib/paths.js';
import { createRuntime, startApi, startWorker, stopOnSignal, type Running } from '../runtime.js';
import { checkPortsFree, PortsUnavailableError, type WantedPort } from './ports.js';
import { DEFAULT_EMBEDDED_PORT } from './postgres.js';
import { startStack } from './stack.js';

export const DEMO_MERCHANT_NAME = 'Demo merchant';

const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);
/** Settings of the embedded components, read only by `npm run dev`. */
const DevSettings = z.object({
  DATA_DIR: z.string().default(join(PROJECT_ROOT, '.data')),
  EMBEDDED_POSTGRES_PORT: port(DEFAULT_EMBEDDED_PORT),
  TEMPORAL_PORT: port(7233),
  TEMPORAL_UI_PORT: port(8233),
  MAILDEV_SMTP_PORT: port(1025),
  MAILDEV_WEB_PORT: port(1080),
  // Read here too, so a busy API port stops start-up before anything else starts.
  PORT: ConfigSchema.shape.PORT,
  LOG_LEVEL: z.string().default('info'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
});

/**
 * `npm run dev`: Postgres, the Temporal dev server (with its Web UI), a mail catcher, the
 * migrations, the API and a worker, all in one process tree on embedded defaults. DATABASE_URL,
 * TEMPORAL_ADDRESS and SMTP_URL each swap an embedded component for an external one.
 */
async function dev(): Promise<void> {
  loadDotEnv();
  const parsed = DevSettings.safeParse(process.env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`).join('\n'));
  }
  const settings = parsed.data;
  const logger = createLogger(settings.LOG_LEVEL, 'dev');
  await checkPortsFree(portsToOpen(settings));
  const stack = await startStack({
    dataDir: settings.DATA_DIR,
    persistent: true,
    ports: {
      postgres: settings.EMBEDDED_POSTGRES_PORT,
      temporal: settings.TEMPORAL_PORT,
      temporalUi: settings.TEMPORAL_UI_PORT,
      smtp: settings.MAILDEV_SMTP_PORT,
      mailUi: settings.MAILDEV_WEB_PORT,
    },
    namespace: settings.TEMPORAL_NAMESPACE,
    external: {
      databaseUrl: process.env.DATABASE_URL,
      temporalAddress: process.env.TEMPORAL_ADDRESS,
      smtpUrl: process.env.SMTP_URL,
    },
    logger,
  });
  const parts: Running[] = [stack];
  stopOnSignal(parts, logger);

  const config = loadConfig({
    // Local development usually points webhooks at a receiver on this machine.
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    // Links to runs point at the UI this stack actually serves.
    ...(stack.temporalUiUrl && { TEMPORAL_UI_URL: stack.temporalUiUrl }),
    ...process.env,
    DATABASE_URL: stack.databaseUrl,
    TEMPORAL_ADDRESS: stack.temporalAddress,
    SMTP_URL: stack.smtpUrl,
  });
  await migrate(config.DATABASE_URL, logger);
  const runtime = await createRuntime(config, logger);
  parts.push(runtime);
  parts.push(loggingStop(await startWorker(runtime, config, logger), 'worker stopped', logger));
  const api = await startApi(runtime, config, logger);
  parts.push(loggingStop(api, 'API stopped', logger));

  const demoKey = await ensureDemoMerchant(runtime.services.merchants, runtime.db);
  printBanner({
    api: api.url,
    docs: `${api.url}/docs`,
    temporalUi: stack.temporalUiUrl ?? `(external Temporal at ${stack.temporalAddress})`,
    mailUi: stack.mailUiUrl ?? `(external SMTP at ${stack.smtpUrl})`,
    demoKey,
  });
}

/** The ports this start will listen on: those of the embedded components not replaced, and the API's. */
function portsToOpen(settings: z.infer<typeof DevSettings>): WantedPort[] {
  const loopback = '127.0.0.1';
  return [
    ...(process.env.DATABASE_URL ? [] : [{ variable: 'EMBEDDED_POSTGRES_PORT', port: settings.EMBEDDED_POSTGRES_PORT, host: loopback }]),
    ...(process.env.TEMPORAL_ADDRESS
      ? []
      : [
          { variable: 'TEMPORAL_PORT', port: settings.TEMPORAL_PORT, host: loopback },
          { variable: 'TEMPORAL_UI_PORT', port: settings.TEMPORAL_UI_PORT, host: loopback },
        ]),
    ...(process.env.SMTP_URL
      ? []
      : [
          { variable: 'MAILDEV_SMTP_PORT', port: settings.MAILDEV_SMTP_PORT, host: loopback },
          { variable: 'MAILDEV_WEB_PORT', port: settings.MAILDEV_WEB_PORT, host: loopback },
        ]),
    // 0 asks for any free port; the API listens on every interface.
    ...(settings.PORT === 0 ? [] : [{ variable: 'PORT', port: settings.PORT }]),
  ];
}

/** The shutdown log shows the order parts stopped in: API and worker before the servers they use. */
function loggingStop(part: Running, message: string, logger: Logger): Running {
  return {
    async stop() {
      await part.stop();
      logger.info(message);
    },
  };
}

/** Creates the demo merchant on first start; its key is printed that once and never again. */
async function ensureDemoMerchant(merchants: MerchantService, db: Db): Promise<string | undefined> {
  const existing = await db.merchant.findFirst({ where: { name: DEMO_MERCHANT_NAME } });
  if (existing) return undefined;
  return (await merchants.createMerchant(DEMO_MERCHANT_NAME, 'sandbox')).key;
}

function printBanner(urls: { api: string; docs: string; temporalUi: string; mailUi: string; demoKey?: string }): void {
  const lines = [
    '',
    'Customer lifecycle service is running.',
    `  API          ${urls.api}`,
    `  API docs     ${urls.docs}`,
    `  Temporal UI  ${urls.temporalUi}`,
    `  Mail UI      ${urls.mailUi}`,
    urls.demoKey
      ? `  Demo sandbox API key (shown once, store it now): ${urls.demoKey}`
      : '  Demo merchant exists already: its key was printed on the first start (npm run merchant:create for another).',
    '  Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

dev().catch((error: unknown) => {
  if (error instanceof PortsUnavailableError) console.error(error.message);
  else console.error(error instanceof ConfigError ? `Invalid configuration:\n${error.message}` : error);
  process.exit(1);
});
