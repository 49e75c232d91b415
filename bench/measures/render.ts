import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../../src/lib/paths.js';
import { startBenchEnvironment, waitFor } from '../env.js';
import { formatNumber as n, percentile, progress, type Row } from '../table.js';

const PREVIEWS = 10;
const STEPS = 50;
const IDLE_SECONDS = 3;

/**
 * The API's event-loop delay (how late a 10 ms timer fires) while 10 hostile previews render, each
 * of 50 steps that are slow in Liquid or just under the part limit with markup html-to-text must
 * walk, next to the same API idle. Templates render in worker threads within a budget per
 * request, so the event loop stays free: before, one such preview held it for minutes.
 */
export async function measureRender(): Promise<Row[]> {
  const delays = join(tmpdir(), `loop-delay-${process.pid}-${Date.now()}.jsonl`);
  const env = await startBenchEnvironment({
    worker: false,
    apiExecArgv: ['--import', pathToFileURL(join(PROJECT_ROOT, 'bench', 'loop-delay.mjs')).href],
    extraEnv: { LOOP_DELAY_FILE: delays },
  });
  try {
    const { key } = await env.merchant('Bench hostile templates');
    const post = async (path: string, body: unknown) =>
      fetch(`${env.apiUrl}${path}`, { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    // The sample customer a save renders for has neither n nor m: both pass the save's check.
    const slow = '{% for i in (1..customer.metadata.n) %}{% for j in (1..customer.metadata.n) %}{% endfor %}{% endfor %}';
    const large = '{% for i in (1..customer.metadata.m) %}<a {% endfor %}';
    const steps = Array.from({ length: STEPS }, (_, i) => ({ channel: 'email', template: { subject: 'Hostile', html: i % 2 ? large : slow } }));
    const sequence = (await (await post('/v1/sequences', { name: 'Hostile', trigger_tag: 'hostile', steps })).json()) as { id: string };
    const customer = (await (await post('/v1/customers', { email: 'hostile@bench.test', metadata: { n: 3_000, m: 40_000 } })).json()) as { id: string };

    const written = async () => (await readFile(delays, 'utf8').catch(() => '')).split('\n').filter(Boolean);
    let windows = 0;
    /** The delays since the previous window: the probe writes them on SIGUSR2. */
    const window = async () => {
      process.kill(env.apiPid, 'SIGUSR2');
      windows += 1;
      await waitFor(async () => (await written()).length >= windows, 'the loop-delay samples', 10_000);
      return JSON.parse((await written())[windows - 1]!) as { delays: number[]; busy: number };
    };
    await window();
    progress(`render: the API idle, ${IDLE_SECONDS} s`);
    await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
    const idle = await window();

    progress(`render: ${PREVIEWS} hostile previews of ${STEPS} steps at once`);
    const started = performance.now();
    const statuses = await Promise.all(
      Array.from({ length: PREVIEWS }, async () => (await post(`/v1/sequences/${sequence.id}/preview`, { customer_id: customer.id })).status),
    );
    const seconds = (performance.now() - started) / 1000;
    const hostile = await window();
    const p99 = percentile(hostile.delays, 99);
    const pct = (share: number) => `${n(share * 100)}%`;
    return [
      {
        measure: `API event-loop delay, ${PREVIEWS} hostile previews (${STEPS} steps each) at once`,
        figure: `p99 ${n(p99, 1)} ms, max ${n(Math.max(...hostile.delays), 1)} ms, loop busy ${pct(hostile.busy)}; previews answered ${[...new Set(statuses)].join(', ')} within ${n(seconds, 1)} s`,
        limit: `idle: p99 ${n(percentile(idle.delays, 99), 1)} ms, max ${n(Math.max(...idle.delays), 1)} ms, loop busy ${pct(idle.busy)}`,
        goal: 'p99 < 50 ms; every preview refused (400) within the budget',
        met: p99 < 50 && statuses.every((status) => status === 400),
      },
    ];
  } finally {
    await env.stop();
    await rm(delays, { force: true });
  }
}
