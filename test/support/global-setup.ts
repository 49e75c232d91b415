import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { loadConfig } from '../../src/config.js';
import { freePort, startStack } from '../../src/dev/stack.js';
import { createLogger } from '../../src/logger.js';
import { migrate } from '../../src/migrate.js';
import { createRuntime, startWorker } from '../../src/runtime.js';
import { startTwilioStandIn } from './twilio-standin.js';

export interface TestEnvironment {
  DATABASE_URL: string;
  TEMPORAL_ADDRESS: string;
  TEMPORAL_NAMESPACE: string;
  TEMPORAL_TASK_QUEUE: string;
  SMTP_URL: string;
  MAIL_UI_URL: string;
  WEBHOOK_RETRY_SCHEDULE: string;
  WEBHOOK_ALLOW_PRIVATE_TARGETS: string;
  OUTBOX_RELAY_INTERVAL_MS: string;
  HOUSEKEEPING_INTERVAL_MS: string;
  DELETION_STUCK_AFTER_MS: string;
  LOG_LEVEL: string;
  SMS_PROVIDER: string;
  TWILIO_ACCOUNT_SID: string;
  TWILIO_AUTH_TOKEN: string;
  TWILIO_FROM: string;
  /** The Twilio stand-in (test/support/twilio-standin.ts): `GET /__requests` lists what it received. */
  TWILIO_API_URL: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    testEnv: TestEnvironment;
  }
}

/**
 * Starts the real components once per run: a throw-away embedded Postgres (migrated from empty),
 * an in-memory Temporal dev server, MailDev, and one worker running the real activities.
 * TEST_DATABASE_URL / TEST_TEMPORAL_ADDRESS / TEST_SMTP_URL point the run at external ones.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'warn', 'test-stack');
  const dataDir = await mkdtemp(join(tmpdir(), 'customer-lifecycle-test-'));
  // Readable by the unprivileged user embedded Postgres runs as when the tests run as root.
  await chmod(dataDir, 0o755);
  const stack = await startStack({
    dataDir,
    persistent: false,
    ports: { postgres: await freePort(), temporal: await freePort(), smtp: await freePort(), mailUi: await freePort() },
    namespace: 'default',
    external: {
      databaseUrl: process.env.TEST_DATABASE_URL,
      temporalAddress: process.env.TEST_TEMPORAL_ADDRESS,
      smtpUrl: process.env.TEST_SMTP_URL,
    },
    logger,
  });
  await migrate(stack.databaseUrl, logger);
  const twilio = await startTwilioStandIn();

  const testEnv: TestEnvironment = {
    DATABASE_URL: stack.databaseUrl,
    TEMPORAL_ADDRESS: stack.temporalAddress,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: `customer-lifecycle-test-${process.pid}`,
    SMTP_URL: stack.smtpUrl,
    MAIL_UI_URL: stack.mailUiUrl ?? '',
    // Webhook retries fast enough to watch one fail and recover inside a test: three attempts.
    WEBHOOK_RETRY_SCHEDULE: '200ms,200ms',
    // The tests' webhook receivers listen on loopback.
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    OUTBOX_RELAY_INTERVAL_MS: '50',
    HOUSEKEEPING_INTERVAL_MS: '500',
    DELETION_STUCK_AFTER_MS: '2000',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    // SMS go through the real Twilio client, to a stand-in of its Messages endpoint.
    SMS_PROVIDER: 'twilio',
    TWILIO_ACCOUNT_SID: `AC${'0'.repeat(31)}1`,
    TWILIO_AUTH_TOKEN: 'test-auth-token',
    TWILIO_FROM: '+14155550100',
    TWILIO_API_URL: twilio.url,
  };
  const config = loadConfig({ ...process.env, ...testEnv, NODE_ENV: 'test' });
  const runtime = await createRuntime(config, logger);
  const worker = await startWorker(runtime, config, logger);
  project.provide('testEnv', testEnv);

  return async () => {
    await worker.stop();
    await runtime.stop();
    await twilio.stop();
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
