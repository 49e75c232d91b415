// `npm run bench` runs every measure; `npm run bench -- get post` runs some, and `npm run bench --
// soak` the 5-minute soak, which runs only when named. The rows measured replace theirs in the
// README's performance table (`--no-readme` to leave it). Each brings what it
// needs on embedded defaults, measures the limit in the same run where one exists, and the table
// is printed and written as JSON under bench/results/.
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/lib/paths.js';
import { buildDist, startBenchEnvironment, type BenchEnvironment } from './env.js';
import { measureBatch, measureGet, measurePost } from './measures/http.js';
import { measureDeletion } from './measures/deletion.js';
import { measureSequences } from './measures/sequences.js';
import { measureLtv } from './measures/ltv.js';
import { measureRender } from './measures/render.js';
import { measureSoak, SOAK_ENV } from './measures/soak.js';
import { measureWebhooks } from './measures/webhooks.js';
import { updateReadme } from './readme.js';
import { printTable, progress, type Row } from './table.js';

const MEASURES: Record<string, (env: BenchEnvironment) => Promise<Row[]>> = {
  get: measureGet,
  post: measurePost,
  batch: measureBatch,
  webhooks: measureWebhooks,
  deletion: measureDeletion,
  sequences: measureSequences,
};
/**
 * Measures that bring their own environment (the LTV rollup seeds a million payments into its
 * database; the render measure preloads an event-loop probe into the API).
 */
const STANDALONE: Record<string, () => Promise<Row[]>> = { ltv: measureLtv, render: measureRender };
/** Too long for every run (SOAK_SECONDS, 300 by default): run only when named. */
const NAMED_ONLY: typeof MEASURES = { soak: measureSoak };
/** Environment a measure's roles run with beyond the defaults. */
const MEASURE_ENV: Record<string, Record<string, string>> = { soak: SOAK_ENV };

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
  const known = { ...MEASURES, ...NAMED_ONLY };
  const unknown = wanted.filter((name) => !known[name] && !STANDALONE[name]);
  if (unknown.length) throw new Error(`unknown measure ${unknown.join(', ')}; known: ${[...Object.keys(known), ...Object.keys(STANDALONE)].join(', ')}`);
  const names = wanted.length ? wanted : [...Object.keys(MEASURES), ...Object.keys(STANDALONE)];
  progress('building dist/ (the API and worker run compiled, as in production)');
  buildDist();
  const rows: Row[] = [];
  for (const name of names) {
    const standalone = STANDALONE[name];
    if (standalone) {
      rows.push(...(await standalone()));
      continue;
    }
    progress(`${name}: starting a fresh environment`);
    const env = await startBenchEnvironment({ extraEnv: MEASURE_ENV[name] });
    try {
      rows.push(...(await known[name]!(env)));
    } finally {
      await env.stop();
    }
  }
  process.stderr.write('\n');
  const table = printTable(rows);
  process.stdout.write(`${table}\n`);
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
  const dir = join(PROJECT_ROOT, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify({ at: new Date().toISOString(), machine, measures: names, rows }, null, 2)}\n`);
  process.stdout.write(`\nwritten to ${file}\n`);
  // The README's table takes this run's rows (`--no-readme` leaves it alone).
  if (!process.argv.includes('--no-readme')) {
    await updateReadme(join(PROJECT_ROOT, 'README.md'), rows, machine, new Date());
    process.stdout.write('README.md: performance table updated\n');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
