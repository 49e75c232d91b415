import { runLtvBenchmark } from '../ltv.js';
import { formatNumber as n, progress, type Row } from '../table.js';

/**
 * The LTV rollup at 100,000 customers and 1,000,000 payments against the raw aggregate-and-upsert
 * statement, in the same run: `bench/ltv.ts` seeds its own database (`npm run bench:ltv` runs it
 * alone, with more rounds and options).
 */
export async function measureLtv(): Promise<Row[]> {
  const result = await runLtvBenchmark({ rounds: Number(process.env.LTV_ROUNDS ?? 1), resultsDir: null, log: progress });
  const row = (scenario: string, figures: { workflowMs: number; rawMs: number; ratio: number }): Row => ({
    measure: `LTV rollup, ${n(result.size.customers)} customers / ${n(result.size.payments)} payments, ${scenario}`,
    figure: `workflow ${n(figures.workflowMs)} ms`,
    limit: `raw SQL ${n(figures.rawMs)} ms`,
    // A duration, so the ratio is the raw statement's time over the workflow's (1 = as fast).
    ratio: figures.rawMs / figures.workflowMs,
    goal: '<= 1.5x the raw SQL (ratio >= 67%)',
    met: figures.ratio <= 1.5,
  });
  return [row('nightly', result), row('first run', result.firstRun)];
}
