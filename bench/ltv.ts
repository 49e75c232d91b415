// `npm run bench:ltv`: how long the LTV rollup workflow takes over 100,000 customers and 1,000,000
// payments, next to the single SQL statement that computes the same numbers. Target: the workflow
// end to end within 1.5x the raw aggregate. Brings up its own throw-away embedded Postgres and
// Temporal dev server (as the tests do), seeds them, measures, prints, and writes
// bench/results/ltv-<time>.json.
//
//   npm run bench:ltv [-- --customers=100000 --payments=1000000 --rounds=3]
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WORKFLOW_TYPES, type LtvRollupInput, type LtvRollupSettings } from '../workflows/definitions.js';
import { loadConfig, ltvRollupSettings } from '../src/config.js';
import { startThrowawayStack } from '../src/dev/stack.js';
import { newId } from '../src/lib/ids.js';
import { PROJECT_ROOT } from '../src/lib/paths.js';
import { createLogger } from '../src/logger.js';
import { migrate } from '../src/migrate.js';
import { createRuntime, startWorker, type Runtime } from '../src/runtime.js';
import { seedLtvData, type SeedSize } from './ltv-seed.js';
import { formatNumber, progress } from './table.js';

export interface LtvBenchmarkOptions extends Partial<SeedSize> {
  /** Measurements of each kind; the medians are reported. */
  rounds?: number;
  /** How the workflow cuts its work; LTV_ROLLUP_* (or their defaults) otherwise. */
  settings?: Partial<LtvRollupSettings>;
  /** Where the JSON result goes; null writes none. */
  resultsDir?: string | null;
  /** Progress and results; stderr by default. */
  log?: (line: string) => void;
  /** Aborting stops the embedded components at once; the benchmark then fails. */
  signal?: AbortSignal;
}

export interface LtvBenchmarkResult {
  /** The rollup workflow, start to result, rewriting every customer's stats (median). */
  workflowMs: number;
  /** The one aggregate-and-upsert statement over every customer, doing the same (median). */
  rawMs: number;
  ratio: number;
  /** The same two over an empty customer_stats table: the very first run. */
  firstRun: { workflowMs: number; rawMs: number; ratio: number };
  size: SeedSize;
  settings: LtvRollupSettings;
  rounds: { scenario: 'first run' | 'nightly'; rawMs: number; workflowMs: number }[];
  seedMs: number;
}

const DEFAULT_SIZE: SeedSize = { customers: 100_000, payments: 1_000_000, subscriptions: 30_000 };
const RESULTS_DIR = join(PROJECT_ROOT, 'bench', 'results');

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const round1 = (value: number) => Math.round(value * 10) / 10;

/** A progress bar: one line of stderr, redrawn in place. */
function progressBar(step: string, done: number, total: number): void {
  const width = 30;
  const filled = Math.round((done / total) * width);
  progress(
    `seeding ${step.padEnd(13)} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor((done / total) * 100)).padStart(3)}%  ` +
      `${formatNumber(done)}/${formatNumber(total)}`,
  );
}

export async function runLtvBenchmark(options: LtvBenchmarkOptions = {}): Promise<LtvBenchmarkResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const size: SeedSize = {
    customers: options.customers ?? DEFAULT_SIZE.customers,
    payments: options.payments ?? DEFAULT_SIZE.payments,
    subscriptions: options.subscriptions ?? DEFAULT_SIZE.subscriptions,
  };
  const rounds = options.rounds ?? 3;
  const logger = createLogger('warn', 'bench-ltv');
  log('starting embedded Postgres and the Temporal dev server');
  const stack = await startThrowawayStack({ name: 'bench-ltv', persistent: false, logger });
  const stopStack = () => void stack.stop();
  options.signal?.addEventListener('abort', stopStack, { once: true });
  let runtime: Runtime | undefined;
  let worker: { stop(): Promise<void> } | undefined;
  try {
    await migrate(stack.databaseUrl, logger);
    const config = loadConfig({
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      DATABASE_URL: stack.databaseUrl,
      TEMPORAL_ADDRESS: stack.temporalAddress,
      SMTP_URL: stack.smtpUrl,
      TEMPORAL_TASK_QUEUE: 'bench-ltv',
    });
    const settings: LtvRollupSettings = { ...ltvRollupSettings(config), ...options.settings };
    runtime = await createRuntime(config, logger);
    worker = await startWorker(runtime, config, logger);
    const { db, pool, temporal } = runtime;
    const { stats } = runtime.services.stores;

    const seedStart = performance.now();
    const client = await pool.connect();
    try {
      await seedLtvData(client, newId('merchant'), size, progressBar);
    } finally {
      client.release();
    }
    const seedMs = performance.now() - seedStart;
    if (process.stderr.isTTY) process.stderr.write('\n');
    log(`seeded in ${(seedMs / 1000).toFixed(1)} s`);

    const input: LtvRollupInput = { ...settings, digest: false };
    const workflow = async () => {
      const start = performance.now();
      await temporal.workflow.execute(WORKFLOW_TYPES.ltvRollup, { taskQueue: config.TEMPORAL_TASK_QUEUE, workflowId: `bench-ltv-${newId('statsRollup')}`, args: [input] });
      return performance.now() - start;
    };
    const raw = async () => {
      const start = performance.now();
      await db.$transaction((tx) => stats.refresh(tx, { after: null, upTo: null }), { timeout: 600_000 });
      return performance.now() - start;
    };
    // Each measurement starts from the same table: emptied (first run) or vacuumed (nightly).
    const emptied = () => db.$executeRawUnsafe('TRUNCATE customer_stats');
    const vacuumed = () => db.$executeRawUnsafe('VACUUM customer_stats');

    log('warming up (one of each, not counted)');
    await raw();
    await workflow();
    const measured: LtvBenchmarkResult['rounds'] = [];
    for (let round = 1; round <= rounds; round++) {
      await emptied();
      const firstRaw = await raw();
      await emptied();
      const firstWorkflow = await workflow();
      measured.push({ scenario: 'first run', rawMs: round1(firstRaw), workflowMs: round1(firstWorkflow) });
      await vacuumed();
      const nightlyRaw = await raw();
      await vacuumed();
      const nightlyWorkflow = await workflow();
      measured.push({ scenario: 'nightly', rawMs: round1(nightlyRaw), workflowMs: round1(nightlyWorkflow) });
      log(`round ${round}/${rounds}: ${measured.slice(-2).map((m) => `${m.scenario} raw ${m.rawMs} ms, workflow ${m.workflowMs} ms`).join('; ')}`);
    }
    const summary = (scenario: 'first run' | 'nightly') => {
      const of = measured.filter((m) => m.scenario === scenario);
      const rawMs = round1(median(of.map((m) => m.rawMs)));
      const workflowMs = round1(median(of.map((m) => m.workflowMs)));
      return { rawMs, workflowMs, ratio: Math.round((workflowMs / rawMs) * 100) / 100 };
    };
    const nightly = summary('nightly');
    const result: LtvBenchmarkResult = { ...nightly, firstRun: summary('first run'), size, settings, rounds: measured, seedMs: round1(seedMs) };

    log('');
    log(`LTV rollup over ${formatNumber(size.customers)} customers and ${formatNumber(size.payments)} payments (medians of ${rounds}):`);
    log(`  nightly run   workflow ${result.workflowMs} ms   raw aggregate + upsert ${result.rawMs} ms   ratio ${result.ratio}`);
    log(`  first run     workflow ${result.firstRun.workflowMs} ms   raw aggregate + upsert ${result.firstRun.rawMs} ms   ratio ${result.firstRun.ratio}`);
    log(`  batches of ${settings.batchSize}, ${settings.concurrency} at once, chunks of ${settings.chunkSize}; ${cpus().length} CPUs, load ${loadavg()[0]!.toFixed(1)}`);
    if (options.resultsDir !== null) {
      const dir = options.resultsDir ?? RESULTS_DIR;
      await mkdir(dir, { recursive: true });
      const file = join(dir, `ltv-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
      const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, loadAverage: loadavg() };
      await writeFile(file, `${JSON.stringify({ date: new Date().toISOString(), machine, ...result }, null, 2)}\n`);
      log(`  written to ${file}`);
    }
    return result;
  } finally {
    options.signal?.removeEventListener('abort', stopStack);
    await worker?.stop();
    await runtime?.stop();
    await stack.stop();
  }
}

/** `--customers=1000 --payments=10000 --subscriptions=300 --rounds=1 --batch-size= --concurrency= --chunk-size=` */
function optionsFromArgs(args: string[]): LtvBenchmarkOptions {
  const values = Object.fromEntries(
    args.map((arg) => {
      const match = /^--([a-z-]+)=(\d+)$/.exec(arg);
      if (!match) throw new Error(`unknown argument ${arg}: expected --name=<number>`);
      return [match[1]!, Number(match[2])];
    }),
  );
  const settings = {
    ...(values['batch-size'] !== undefined && { batchSize: values['batch-size'] }),
    ...(values.concurrency !== undefined && { concurrency: values.concurrency }),
    ...(values['chunk-size'] !== undefined && { chunkSize: values['chunk-size'] }),
  };
  return {
    ...(values.customers !== undefined && { customers: values.customers }),
    ...(values.payments !== undefined && { payments: values.payments }),
    ...(values.subscriptions !== undefined && { subscriptions: values.subscriptions }),
    ...(values.rounds !== undefined && { rounds: values.rounds }),
    settings,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // Ctrl-C stops Postgres and Temporal rather than leaving them running behind.
  const interrupted = new AbortController();
  process.once('SIGINT', () => interrupted.abort());
  process.once('SIGTERM', () => interrupted.abort());
  runLtvBenchmark({ ...optionsFromArgs(process.argv.slice(2)), signal: interrupted.signal }).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(interrupted.signal.aborted ? 'interrupted: the embedded components are stopped' : error);
      process.exit(interrupted.signal.aborted ? 130 : 1);
    },
  );
}
