import { Agent, request } from 'node:http';
import { mapWithConcurrency } from '../../src/lib/concurrency.js';
import type { BenchEnvironment } from '../env.js';
import { cpuMs, rssKiB } from '../cpu.js';
import { formatNumber as n, percentile, progress, type Row } from '../table.js';

const SOAK_SECONDS = Number(process.env.SOAK_SECONDS ?? 300);
const WINDOW_SECONDS = 30;
const CAPACITY_SECONDS = 15;
const CONNECTIONS = 32;
const LOAD_FACTOR = 0.7;
const SEEDED = 200;

type Kind = 'get' | 'list' | 'post' | 'patch';

/**
 * The soak runs with retention windows short enough that the worker prunes the events the mix
 * writes while it runs, so a cost of pruning (or of not pruning) shows in its windows.
 */
export const SOAK_ENV: Record<string, string> = {
  EVENT_RETENTION: '60s',
  WEBHOOK_DELIVERY_RETENTION: '60s',
  MESSAGE_BODY_RETENTION: '60s',
};

interface Tally {
  latencies: number[];
  /** The same latencies by kind of request, to see which one a trend comes from. */
  byKind: Record<Kind, number[]>;
  non2xx: number;
  network: number;
  /** The first few failures, "PATCH 409 {...}", to see what went wrong. */
  samples: string[];
}
const tally = (): Tally => ({ latencies: [], byKind: { get: [], list: [], post: [], patch: [] }, non2xx: 0, network: 0, samples: [] });
const mib = (kib: number) => `${n(kib / 1024)} MiB`;

/**
 * Issue 18: mixed traffic (70% GET by id, 15% list, 10% POST with an Idempotency-Key, 5% PATCH).
 * Capacity is that mix closed-loop at 32 connections; the soak then offers 70% of it open-loop (a
 * fixed arrival rate, latency counted from each request's scheduled time, so a stall shows instead
 * of slowing the generator) for SOAK_SECONDS, printing each 30 s window. Any failed request makes
 * the run exit non-zero.
 */
export async function measureSoak(env: BenchEnvironment): Promise<Row[]> {
  const { key } = await env.merchant('Bench soak');
  const { hostname, port } = new URL(env.apiUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const send = (method: string, path: string, body?: unknown, idempotencyKey?: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const headers: Record<string, string> = { 'x-api-key': key, 'content-type': 'application/json' };
      if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
      const req = request({ hostname, port, method, path, headers, agent, timeout: 10_000 }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, text })).on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('timed out after 10 s'))).on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });

  progress(`soak: seeding ${SEEDED} customers`);
  const ids = await mapWithConcurrency(Array.from({ length: SEEDED }, (_, i) => i), 8, async (i) => {
    const created = await send('POST', '/v1/customers', { email: `soak-seed-${i}@bench.test`, name: `Soak ${i}`, tags: ['soak'], metadata: { plan: 'pro' } });
    if (created.status !== 201) throw new Error(`seeding: ${created.status} ${created.text}`);
    return (JSON.parse(created.text) as { id: string }).id;
  });

  let sequence = 0;
  const pick = () => ids[Math.floor(Math.random() * ids.length)]!;
  const one = (): [Kind, string, string, unknown?, string?] => {
    const i = sequence++;
    const roll = Math.random();
    if (roll < 0.7) return ['get', 'GET', `/v1/customers/${pick()}`];
    if (roll < 0.85) return ['list', 'GET', '/v1/customers?limit=10'];
    if (roll < 0.95) return ['post', 'POST', '/v1/customers', { email: `soak-${i}@bench.test`, name: `Soak new ${i}`, tags: ['soak'] }, `soak-${i}`];
    return ['patch', 'PATCH', `/v1/customers/${pick()}`, { metadata: { visits: i } }];
  };
  /** One request of the mix into `into()` (read when it ends), its latency counted from `since`. */
  const fire = async (into: () => Tally, since = performance.now()) => {
    const [kind, method, path, body, idempotencyKey] = one();
    try {
      const { status, text } = await send(method, path, body, idempotencyKey);
      const t = into();
      const latency = performance.now() - since;
      t.latencies.push(latency);
      t.byKind[kind].push(latency);
      if (status < 200 || status >= 300) {
        t.non2xx++;
        if (t.samples.length < 3) t.samples.push(`${method} ${status} ${text.slice(0, 160)}`);
      }
    } catch (error) {
      const t = into();
      t.network++;
      if (t.samples.length < 3) t.samples.push(`${method} ${(error as Error).message}`);
    }
  };
  const closedLoop = async (seconds: number) => {
    const t = tally();
    const end = performance.now() + seconds * 1000;
    await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < end) await fire(() => t);
    }));
    return t;
  };

  progress(`soak: capacity, the mix closed-loop at ${CONNECTIONS} connections, ${CAPACITY_SECONDS} s (after 1 s of warm-up)`);
  await closedLoop(1);
  const capacityTally = await closedLoop(CAPACITY_SECONDS);
  const capacity = capacityTally.latencies.length / CAPACITY_SECONDS;
  const rate = capacity * LOAD_FACTOR;

  const line = (text: string) => process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[2K' : ''}${text}\n`);
  line(`soak: capacity ${n(capacity)} req/s; offering ${n(rate)} req/s for ${SOAK_SECONDS} s`);
  const rss = () => ({ api: rssKiB(env.apiPid), worker: env.workerPid === undefined ? Number.NaN : rssKiB(env.workerPid) });
  const rssStart = rss();
  /** RSS at the end of each window: a leak is a peak that keeps rising, not one GC sawtooth. */
  const rssWindows: { api: number; worker: number }[] = [];
  const started = performance.now();
  const windows: Tally[] = [];
  let current = tally();
  let windowCpu = cpuMs(env.apiPid);
  let windowStarted = started;
  const closeWindow = () => {
    const t = current;
    windows.push(t);
    current = tally();
    const now = performance.now();
    const cpu = cpuMs(env.apiPid);
    const { api, worker } = rss();
    rssWindows.push({ api, worker });
    line(
      `soak: ${n((now - started) / 1000).padStart(4)} s  ${String(t.latencies.length).padStart(6)} req  ${t.non2xx + t.network} errors  ` +
        `p50 ${n(percentile(t.latencies, 50), 1)} ms  p99 ${n(percentile(t.latencies, 99), 1)} ms  ` +
        `RSS api ${mib(api)}, worker ${mib(worker)}  api CPU ${n(((cpu - windowCpu) / (now - windowStarted)) * 100)}%`,
    );
    line(`        p50/p99 by kind: ${Object.entries(t.byKind).map(([kind, ms]) => `${kind} ${n(percentile(ms, 50), 1)}/${n(percentile(ms, 99))}`).join(', ')} ms`);
    for (const sample of t.samples) line(`  ${sample}`);
    windowCpu = cpu;
    windowStarted = now;
  };

  // Open loop: every few ms, start the requests whose arrival time has passed; a request that
  // ends is counted in the window it ends in. The last window takes any remainder, so the p99
  // compared with the first window's is never from a few seconds' stub.
  const inFlight = new Set<Promise<void>>();
  const interval = 1000 / rate;
  let issued = 0;
  let nextWindow = WINDOW_SECONDS * 1000;
  for (let elapsed = 0; elapsed < SOAK_SECONDS * 1000; elapsed = performance.now() - started) {
    for (; issued * interval <= elapsed; issued++) {
      const request = fire(() => current, started + issued * interval);
      inFlight.add(request);
      void request.finally(() => inFlight.delete(request));
    }
    if (elapsed >= nextWindow && nextWindow + WINDOW_SECONDS * 1000 <= SOAK_SECONDS * 1000) {
      closeWindow();
      nextWindow += WINDOW_SECONDS * 1000;
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await Promise.all(inFlight);
  const soakSeconds = (performance.now() - started) / 1000;
  if (current.latencies.length || !windows.length) closeWindow();
  agent.destroy();

  // What retention left: every dispatched event older than its window (and a housekeeping pass) is gone.
  const overdueBefore = new Date(Date.now() - env.config.EVENT_RETENTION - env.config.HOUSEKEEPING_INTERVAL_MS - 15_000);
  const [eventsKept, eventsOverdue] = await Promise.all([
    env.db.event.count(),
    env.db.event.count({ where: { dispatchedAt: { not: null }, createdAt: { lt: overdueBefore } } }),
  ]);

  const all = windows.flatMap((t) => t.latencies);
  const non2xx = windows.reduce((sum, t) => sum + t.non2xx, 0);
  const network = windows.reduce((sum, t) => sum + t.network, 0);
  const capacityErrors = capacityTally.non2xx + capacityTally.network;
  const achieved = all.length / soakSeconds;
  const [first, last] = [percentile(windows[0]!.latencies, 99), percentile(windows.at(-1)!.latencies, 99)];
  if (non2xx + network + capacityErrors > 0) process.exitCode = 1;
  // The first window's start is taken before the heap has warmed up to its working size, so
  // comparing it with the end flags growth that is no leak. Compare the peak of the first half of
  // the windows with the peak of the second half instead: a leak raises the second.
  const half = Math.max(1, Math.floor(rssWindows.length / 2));
  const peak = (role: 'api' | 'worker', from: number, to?: number) => Math.max(...rssWindows.slice(from, to).map((w) => w[role]));
  const memory = (role: 'api' | 'worker'): Row => {
    const [early, late] = [peak(role, 0, half), peak(role, rssWindows.length > 1 ? half : 0)];
    return {
      measure: `soak: RSS of the ${role === 'api' ? 'API' : 'worker'}, peak of the first and of the second half of the windows`,
      figure: `${mib(early)}, then ${mib(late)} (${mib(rssStart[role])} before the soak)`,
      goal: 'flat: second half <= 1.2x first',
      met: late <= early * 1.2,
    };
  };
  return [
    {
      measure: `soak: capacity, mixed traffic closed-loop at ${CONNECTIONS} connections, ${CAPACITY_SECONDS} s`,
      figure: `${n(capacity)} req/s, p99 ${n(percentile(capacityTally.latencies, 99))} ms${capacityErrors ? `, ${capacityErrors} failed` : ''}`,
      goal: 'no error',
      met: capacityErrors === 0,
    },
    {
      measure: `soak: ${SOAK_SECONDS} s open-loop at ${LOAD_FACTOR * 100}% of capacity`,
      figure: `target ${n(rate)} req/s, achieved ${n(achieved)} req/s, ${all.length.toLocaleString('en-US')} requests`,
      limit: `${n(capacity)} req/s capacity`,
      ratio: achieved / capacity,
      goal: 'the target rate held (>= 95%)',
      met: achieved >= rate * 0.95,
    },
    {
      measure: 'soak: errors',
      figure: `${non2xx} non-2xx, ${network} network`,
      goal: 'none',
      met: non2xx + network === 0,
    },
    {
      measure: `soak: p99 of the first and the last ${WINDOW_SECONDS} s window`,
      figure: `${n(first, 1)} ms, then ${n(last, 1)} ms (p99 overall ${n(percentile(all, 99), 1)} ms)`,
      goal: 'stable: last <= 1.5x first',
      met: last <= first * 1.5,
    },
    {
      measure: `soak: retention, events older than EVENT_RETENTION (${n(env.config.EVENT_RETENTION / 1000)} s) at the end`,
      figure: `${eventsOverdue} overdue, ${eventsKept.toLocaleString('en-US')} events kept`,
      goal: 'pruned as they age: none overdue',
      met: eventsOverdue === 0,
    },
    memory('api'),
    memory('worker'),
  ];
}
