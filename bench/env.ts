import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../src/config.js';
import { createDb, type Db } from '../src/db.js';
import { freePort, startThrowawayStack, type Stack } from '../src/dev/stack.js';
import { PROJECT_ROOT } from '../src/lib/paths.js';
import { createLogger } from '../src/logger.js';
import { MerchantService } from '../src/merchants/merchant.service.js';
import { migrate } from '../src/migrate.js';
import { connectClient } from '../src/temporal/temporal.js';
import type { Client } from '@temporalio/client';

/** Compiles dist/: the benchmarks run the roles compiled, as in production. */
export function buildDist(): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
}

/** The production roles, compiled, against an embedded stack of their own. */
export interface BenchEnvironment {
  apiUrl: string;
  /** The API and worker processes, for their CPU time. */
  apiPid: number;
  workerPid?: number;
  config: Config;
  db: Db;
  temporal: Client;
  stack: Stack;
  merchant(name: string): Promise<{ merchantId: string; key: string }>;
  /** Environment variables the roles run with, for limit servers that need the same database. */
  env: Record<string, string>;
  /** Something a measure started, to stop with the environment. */
  onStop(stop: () => Promise<void>): void;
  stop(): Promise<void>;
}

/** `node dist/src/main.js <role>`: the compiled role, as `npm run start:<role>` runs it. */
export function role(name: 'api' | 'worker', env: Record<string, string>, execArgv: string[] = [], logFd?: number): ChildProcess {
  const child = spawn(process.execPath, [...execArgv, '--enable-source-maps', 'dist/src/main.js', name], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', logFd ?? 'ignore', 'inherit'],
  });
  return child;
}

export async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${what} did not come up within ${timeoutMs / 1000} s`);
}

/**
 * Embedded Postgres and a Temporal dev server in a temporary folder (the dev stack's own settings:
 * SQLite with WAL pragmas), migrations, then `node dist/src/main.js api` and `worker` as separate
 * processes, logging at the production default (info). The per-key rate limit is lifted so the
 * load generator measures throughput, not the limiter.
 */
export async function startBenchEnvironment(
  options: { worker?: boolean; extraEnv?: Record<string, string>; apiExecArgv?: string[] } = {},
): Promise<BenchEnvironment> {
  const logger = createLogger('warn', 'bench');
  const stack = await startThrowawayStack({ name: 'bench', persistent: true, logger });
  await migrate(stack.databaseUrl, logger);
  const port = await freePort();
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    DATABASE_URL: stack.databaseUrl,
    TEMPORAL_ADDRESS: stack.temporalAddress,
    SMTP_URL: stack.smtpUrl,
    PORT: String(port),
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    RATE_LIMIT_PER_SECOND: '1000000',
    RATE_LIMIT_BURST: '1000000',
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    SECRETS_ENCRYPTION_KEYS: `bench:${randomBytes(32).toString('base64')}`,
    NODE_OPTIONS: '',
    ...options.extraEnv,
  };
  const config = loadConfig(env);
  const children = [role('api', env, options.apiExecArgv)];
  if (options.worker !== false) children.push(role('worker', env));
  const apiUrl = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${apiUrl}/health`)).ok, 'the API');
  const db = createDb(stack.databaseUrl);
  const temporal = await connectClient({ address: stack.temporalAddress, namespace: 'default' });
  const merchants = new MerchantService({ db });
  const stops: (() => Promise<void>)[] = [];
  return {
    apiUrl,
    apiPid: children[0]!.pid!,
    workerPid: children[1]?.pid,
    config,
    db,
    temporal,
    stack,
    env,
    async merchant(name) {
      const issued = await merchants.createMerchant(name, 'sandbox');
      return { merchantId: issued.merchantId, key: issued.key };
    },
    onStop: (stop) => stops.push(stop),
    async stop() {
      for (const stopOne of stops) await stopOne();
      for (const child of children) child.kill('SIGTERM');
      await Promise.all(children.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)))));
      await temporal.connection.close();
      await db.$disconnect();
      await stack.stop();
    },
  };
}
