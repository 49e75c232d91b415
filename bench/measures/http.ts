import { fork } from 'node:child_process';
import { once } from 'node:events';
import pg from 'pg';
import { freePort } from '../../src/dev/stack.js';
import { mapWithConcurrency } from '../../src/lib/concurrency.js';
import { newId } from '../../src/lib/ids.js';
import type { BenchEnvironment } from '../env.js';
import { withCpu } from '../cpu.js';
import { load } from '../load.js';
import { formatNumber as n, progress, type Row } from '../table.js';

const DURATION_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

/** GET /v1/customers/:id against the bare node:http + pg server doing the same two queries. */
export async function measureGet(env: BenchEnvironment): Promise<Row[]> {
  const { key } = await env.merchant('Bench GET');
  const created = await fetch(`${env.apiUrl}/v1/customers`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'get@bench.test', name: 'Reader', tags: ['vip'], metadata: { plan: 'pro' } }),
  });
  const { id } = (await created.json()) as { id: string };
  progress(`get: API, 32 connections, ${DURATION_SECONDS} s`);
  const measuredApi = await withCpu(env.apiPid, () =>
    load({ url: `${env.apiUrl}/v1/customers/${id}`, connections: 32, durationSeconds: DURATION_SECONDS, headers: { 'x-api-key': key } }),
  );
  const api = measuredApi.result;

  const port = await freePort();
  const bare = fork('bench/limits/bare-get-server.ts', [], { env: { ...process.env, DATABASE_URL: env.env.DATABASE_URL, PORT: String(port) }, execArgv: ['--import', 'tsx'] });
  await once(bare, 'message');
  progress(`get: bare node:http + pg, 32 connections, ${DURATION_SECONDS} s`);
  const measuredLimit = await withCpu(bare.pid!, () =>
    load({ url: `http://127.0.0.1:${port}/v1/customers/${id}`, connections: 32, durationSeconds: DURATION_SECONDS, headers: { 'x-api-key': key } }),
  );
  const limit = measuredLimit.result;
  bare.kill('SIGTERM');
  const ratio = api.requestsPerSecond / limit.requestsPerSecond;
  // Throughput depends on what else runs on the machine; CPU per request does not.
  const cpuPerRequest = (measured: { result: { requestsPerSecond: number }; cpuMs: number }) =>
    (measured.cpuMs * 1000) / ((measured.result.requestsPerSecond * (DURATION_SECONDS + 1)) || 1);
  return [
    {
      measure: 'GET /v1/customers/:id, 32 connections',
      figure: `${n(api.requestsPerSecond)} req/s, p99 ${n(api.p99Ms)} ms, ${n(cpuPerRequest(measuredApi))} µs CPU/req${api.non2xx + api.errors ? `, ${api.non2xx + api.errors} failed` : ''}`,
      limit: `${n(limit.requestsPerSecond)} req/s, p99 ${n(limit.p99Ms)} ms, ${n(cpuPerRequest(measuredLimit))} µs CPU/req`,
      ratio,
      goal: '>= 50% of the limit, p99 < 25 ms',
      met: ratio >= 0.5 && api.p99Ms < 25 && api.non2xx + api.errors === 0,
    },
  ];
}

/** POST /v1/customers with 16 connections, without and with a subscribed webhook endpoint. */
export async function measurePost(env: BenchEnvironment): Promise<Row[]> {
  const rows: Row[] = [];
  for (const withEndpoint of [false, true]) {
    const { key } = await env.merchant(`Bench POST ${withEndpoint ? 'with' : 'without'} endpoint`);
    if (withEndpoint) {
      // An endpoint that accepts everything: its deliveries run beside the write load.
      const { startReceiverServer } = await import('../receiver.js');
      const receiver = await startReceiverServer();
      await fetch(`${env.apiUrl}/v1/webhook_endpoints`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        body: JSON.stringify({ url: receiver.url }),
      });
      env.onStop(receiver.stop);
    }
    progress(`post: 16 connections, ${DURATION_SECONDS} s, ${withEndpoint ? 'with' : 'without'} a webhook endpoint`);
    const result = await load({
      url: `${env.apiUrl}/v1/customers`,
      connections: 16,
      durationSeconds: DURATION_SECONDS,
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Bench', tags: ['trial'], metadata: { plan: 'pro', seats: 3 } }),
    });
    rows.push({
      measure: `POST /v1/customers, 16 connections, ${withEndpoint ? 'with' : 'no'} webhook endpoint`,
      figure: `${n(result.requestsPerSecond)} req/s, p99 ${n(result.p99Ms)} ms${result.non2xx + result.errors ? `, ${result.non2xx + result.errors} failed` : ''}`,
      goal: '>= 1,000 req/s, p99 < 50 ms',
      met: result.requestsPerSecond >= 1000 && result.p99Ms < 50 && result.non2xx + result.errors === 0,
    });
  }
  return rows;
}

/** Batch upsert of 1,000 customers per request, against a plain multi-row INSERT of the same rows. */
export async function measureBatch(env: BenchEnvironment): Promise<Row[]> {
  const { key } = await env.merchant('Bench batch');
  const batches = 100;
  const size = 1000;
  const concurrency = 4;
  let sent = 0;
  const started = performance.now();
  await mapWithConcurrency(Array.from({ length: batches }, (_, batch) => batch), concurrency, async (batch) => {
    const items = Array.from({ length: size }, (_, i) => ({
      source: 'import',
      external_id: `b${batch}-${i}`,
      email: `b${batch}-${i}@bench.test`,
      name: `Imported ${i}`,
      tags: ['imported'],
      metadata: { batch },
    }));
    const response = await fetch(`${env.apiUrl}/v1/customers/external/batch`, {
      method: 'PUT',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ items }),
    });
    const result = (await response.json()) as { created: number };
    if (result.created !== size) throw new Error(`batch ${batch}: ${JSON.stringify(result).slice(0, 300)}`);
    sent += size;
    progress(`batch: ${sent.toLocaleString()} / ${(batches * size).toLocaleString()} customers`);
  });
  const perSecond = (batches * size) / ((performance.now() - started) / 1000);

  const client = new pg.Client({ connectionString: env.env.DATABASE_URL });
  await client.connect();
  const { merchantId } = await env.merchant('Bench raw insert');
  const rawStarted = performance.now();
  for (let batch = 0; batch < 20; batch++) {
    const ids = Array.from({ length: size }, () => newId('customer'));
    await client.query(
      `INSERT INTO customers (id, merchant_id, environment, external_source, external_id, email, name, tags, metadata)
       SELECT id, $2, 'sandbox', 'import', 'r' || $3 || '-' || n, 'r' || $3 || '-' || n || '@bench.test', 'Imported', ARRAY['imported'], '{"batch":1}'::jsonb
       FROM unnest($1::text[]) WITH ORDINALITY AS t(id, n)`,
      [ids, merchantId, batch],
    );
  }
  const rawPerSecond = (20 * size) / ((performance.now() - rawStarted) / 1000);
  await client.end();
  return [
    {
      measure: `batch upsert: 100,000 customers, 1,000 per request, ${concurrency} requests at a time`,
      figure: `${n(perSecond)} customers/s`,
      limit: `${n(rawPerSecond)} rows/s (multi-row INSERT)`,
      ratio: perSecond / rawPerSecond,
      goal: '>= 5,000 customers/s (100,000 in < 20 s)',
      met: perSecond >= 5000,
    },
  ];
}
