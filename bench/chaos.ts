// `npm run chaos`: the compiled API and worker on an embedded stack of their own, with faults
// injected while real work runs: the worker SIGKILLed again and again, the Temporal server stopped
// and started, Postgres stopped for 10 s under load, an SMTP server that refuses and one that never
// answers, and the OpenAPI fuzzer with a random seed. Each fault's work is then counted from the
// database, the SMTP server's log and the webhook receiver, and a table is printed:
// fault, runs, completed, duplicates, lost. Exits 1 unless every duplicate and loss is 0.
//
//   npm run chaos [-- worker temporal postgres smtp fuzz]
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { openSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SMTPServer } from 'smtp-server';
import { createDb } from '../src/db.js';
import { DATABASE_NAME, startEmbeddedPostgres, type RunningPostgres } from '../src/dev/postgres.js';
import { freePort } from '../src/dev/stack.js';
import { resolveTemporalCli } from '../src/dev/temporal-cli.js';
import { startTemporalDevServer, type TemporalDevServer } from '../src/dev/temporal-server.js';
import { PROJECT_ROOT } from '../src/lib/paths.js';
import { createLogger } from '../src/logger.js';
import { MerchantService } from '../src/merchants/merchant.service.js';
import { migrate } from '../src/migrate.js';
import { buildDist, role, waitFor } from './env.js';
import { formatNumber as n, markdownTable, percentile } from './table.js';

const DAY = 86_400_000;
/** Customers deleted (with billing objects) and customers run through a sequence, per fault. */
const DELETIONS = Number(process.env.CHAOS_DELETIONS ?? 50);
const SEQUENCES = Number(process.env.CHAOS_SEQUENCES ?? 50);
const SETTLE_MS = Number(process.env.CHAOS_SETTLE_MS ?? 300_000);

interface FaultRow {
  fault: string;
  runs: number;
  completed: number;
  duplicates: number;
  lost: number;
  notes: string;
}

const log = (text: string) => process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

// --- The SMTP server: counts what it accepted per Message-ID; refuses or falls silent on demand -------

type SmtpMode = 'accept' | 'refuse' | 'silent';

async function startSmtp() {
  let mode: SmtpMode = 'accept';
  /** Messages accepted (final 250 after DATA), by Message-ID. */
  const accepted = new Map<string, number>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    // Silent: the greeting never comes, so the client times out before anything was sent.
    onConnect(_session, callback) {
      if (mode === 'silent') return;
      if (mode === 'refuse') return callback(Object.assign(new Error('4.3.2 service not available, try later'), { responseCode: 421 }));
      callback();
    },
    // A connection the client pooled before the fault gets the same refusal or silence.
    onMailFrom(_address, _session, callback) {
      if (mode === 'silent') return;
      if (mode === 'refuse') return callback(Object.assign(new Error('4.3.2 service not available, try later'), { responseCode: 421 }));
      callback();
    },
    onRcptTo(rcpt, _session, callback) {
      if (rcpt.address.startsWith('never-')) return callback(Object.assign(new Error('4.2.1 mailbox busy'), { responseCode: 450 }));
      callback();
    },
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const head = Buffer.concat(chunks).toString('utf8').split(/\r?\n\r?\n/, 1)[0]!;
        const id = /^message-id:\s*(\S+)/im.exec(head)?.[1] ?? `no-id-${randomUUID()}`;
        accepted.set(id, (accepted.get(id) ?? 0) + 1);
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`,
    accepted,
    setMode(next: SmtpMode) {
      mode = next;
      // Pooled connections reconnect, and meet the new mode at their greeting.
      for (const connection of (server as unknown as { connections: Set<{ close(): void }> }).connections) connection.close();
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// --- The webhook receiver: counts deliveries per webhook-id (a redelivery is allowed, and counted) -----

async function startWebhookReceiver() {
  const received = new Map<string, number>();
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = String(req.headers['webhook-id'] ?? '');
      received.set(id, (received.get(id) ?? 0) + 1);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    received,
    stop: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

// --- The stack: each component one the script can stop and start ------------------------------------

async function startChaosStack() {
  const logger = createLogger('warn', 'chaos');
  const dataDir = await mkdtemp(join(tmpdir(), 'customer-lifecycle-chaos-'));
  await chmod(dataDir, 0o755);
  const ports = { postgres: await freePort(), temporal: await freePort(), api: await freePort() };
  const startPostgres = () =>
    startEmbeddedPostgres({ dataDir: join(dataDir, 'postgres'), port: ports.postgres, database: DATABASE_NAME, persistent: true, logger });
  const cli = await resolveTemporalCli(logger);
  const startTemporal = () =>
    startTemporalDevServer({ cli, port: ports.temporal, dbFilename: join(dataDir, 'temporal.db'), namespace: 'default', logger });
  let postgres: RunningPostgres = await startPostgres();
  let temporal: TemporalDevServer = await startTemporal();
  await migrate(postgres.url, logger);
  const smtp = await startSmtp();
  const receiver = await startWebhookReceiver();
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATABASE_URL: postgres.url,
    TEMPORAL_ADDRESS: temporal.address,
    SMTP_URL: smtp.url,
    PORT: String(ports.api),
    PUBLIC_BASE_URL: `http://127.0.0.1:${ports.api}`,
    RATE_LIMIT_PER_SECOND: '1000000',
    RATE_LIMIT_BURST: '1000000',
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    SECRETS_ENCRYPTION_KEYS: `chaos:${randomBytes(32).toString('base64')}`,
    // One subscription per transaction: a kill lands mid-step. Quick housekeeping and retries, so
    // the script waits seconds, not the production minutes.
    DELETION_BATCH_SIZE: '1',
    DELETION_STUCK_AFTER_MS: '5000',
    HOUSEKEEPING_INTERVAL_MS: '1000',
    MESSAGE_RETRY_SCHEDULE: '2s,4s,8s,16s',
    WEBHOOK_RETRY_SCHEDULE: '1s,2s,4s,8s,16s,30s',
    NODE_OPTIONS: '',
  };
  // The roles' logs (warnings and errors, as JSON lines) are kept beside the results.
  const logDir = join(PROJECT_ROOT, 'bench', 'results');
  await mkdir(logDir, { recursive: true });
  const logs = { api: openSync(join(logDir, 'chaos-api.log'), 'w'), worker: openSync(join(logDir, 'chaos-worker.log'), 'w') };
  const api = role('api', env, [], logs.api);
  let worker: ChildProcess = role('worker', env, [], logs.worker);
  const apiUrl = `http://127.0.0.1:${ports.api}`;
  await waitFor(async () => (await fetch(`${apiUrl}/health`)).ok, 'the API');
  const db = createDb(postgres.url);
  const exited = (child: ChildProcess) => new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve)));
  return {
    apiUrl,
    db,
    smtp,
    receiver,
    async merchant(name: string) {
      return (await new MerchantService({ db }).createMerchant(name, 'sandbox')).key;
    },
    async killWorker() {
      worker.kill('SIGKILL');
      await exited(worker);
    },
    startWorker() {
      worker = role('worker', env, [], logs.worker);
    },
    async stopTemporal() {
      await temporal.stop();
    },
    async startTemporal() {
      temporal = await startTemporal();
    },
    async stopPostgres() {
      await postgres.stop();
    },
    async startPostgres() {
      postgres = await startPostgres();
    },
    async stop() {
      for (const child of [api, worker]) child.kill('SIGTERM');
      await Promise.all([exited(api), exited(worker)]);
      await db.$disconnect();
      await receiver.stop();
      await smtp.stop();
      await temporal.stop();
      await postgres.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

type ChaosStack = Awaited<ReturnType<typeof startChaosStack>>;

interface Answer {
  status: number;
  body: any;
  ms: number;
}

function client(apiUrl: string, key: string) {
  return async (method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<Answer> => {
    const started = performance.now();
    try {
      const response = await fetch(`${apiUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...(method === 'POST' ? { 'idempotency-key': randomUUID() } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : null, ms: performance.now() - started };
    } catch {
      return { status: 0, body: null, ms: performance.now() - started };
    }
  };
}
type Call = ReturnType<typeof client>;

/** Runs `task` over `items`, `concurrency` at a time. */
async function each<T>(items: T[], concurrency: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await task(items[next++]!);
  }));
}

async function ok(call: Call, method: string, path: string, body?: unknown): Promise<any> {
  for (let attempt = 0; ; attempt++) {
    const answer = await call(method, path, body);
    if (answer.status >= 200 && answer.status < 300) return answer.body;
    if (attempt === 20) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    await sleep(500);
  }
}

// --- The workload: deletions with billing objects, and sequences of three emails ---------------------

interface Workload {
  key: string;
  merchantId: string;
  deletions: { customerId: string; subscriptions: { id: string; billing_time: string }[]; walletId: string }[];
  sequenceId: string;
  /** Customers tagged into the sequence (by `startRuns`). */
  sequenceCustomers: string[];
}

async function prepareWorkload(stack: ChaosStack, name: string): Promise<Workload> {
  const key = await stack.merchant(name);
  const call = client(stack.apiUrl, key);
  await ok(call, 'POST', '/v1/webhook_endpoints', { url: stack.receiver.url });
  const settings = await ok(call, 'GET', '/v1/settings');
  const sequence = await ok(call, 'POST', '/v1/sequences', {
    name: `${name} onboarding`,
    trigger_tag: 'chaos',
    steps: [0, 2, 4].map((delay, step) => ({ channel: 'email', delay: `${delay}s`, template: { subject: `Step ${step + 1}`, text: 'Hello {{ customer.name }}' } })),
  });
  const start = new Date(Date.now() - 3 * DAY).toISOString();
  const deletions: Workload['deletions'] = [];
  await each(Array.from({ length: DELETIONS }, (_, i) => i), 8, async (i) => {
    const customer = await ok(call, 'POST', '/v1/customers', { currency: 'USD', name: `Deleted ${i}`, email: `deleted-${i}-${randomUUID().slice(0, 6)}@chaos.test` });
    const subscriptions = [];
    for (const billing_time of ['in_arrears', 'in_advance', 'in_arrears']) {
      subscriptions.push(await ok(call, 'POST', '/v1/subscriptions', { customer_id: customer.id, plan_code: `plan-${billing_time}`, amount: 2500, currency: 'USD', billing_time, start_date: start }));
    }
    await ok(call, 'POST', '/v1/applied_coupons', { customer_id: customer.id, coupon_code: 'CHAOS', percent_off: 10, frequency: 'forever' });
    const wallet = await ok(call, 'POST', '/v1/wallets', { customer_id: customer.id, currency: 'USD', granted_credits: 10_000 });
    await ok(call, 'POST', '/v1/invoices', { customer_id: customer.id, currency: 'USD', lines: [{ description: 'Setup', unit_amount: 900 }] });
    deletions.push({ customerId: customer.id, subscriptions, walletId: wallet.id });
  });
  return { key, merchantId: settings.merchant_id, deletions, sequenceId: sequence.id, sequenceCustomers: [] };
}

/** Tags customers into the sequence and deletes the billing customers: the runs the fault hits. */
async function startRuns(stack: ChaosStack, work: Workload, share = { from: 0, to: 1 }): Promise<void> {
  const call = client(stack.apiUrl, work.key);
  const range = <T>(items: T[]) => items.slice(Math.floor(items.length * share.from), Math.floor(items.length * share.to));
  const sequenceSlots = range(Array.from({ length: SEQUENCES }, (_, i) => i));
  await each(sequenceSlots, 8, async (i) => {
    const customer = await ok(call, 'POST', '/v1/customers', { name: `Seq ${i}`, email: `seq-${i}-${randomUUID().slice(0, 6)}@chaos.test`, tags: ['chaos'] });
    work.sequenceCustomers.push(customer.id);
  });
  await each(range(work.deletions), 8, async ({ customerId }) => {
    await ok(call, 'DELETE', `/v1/customers/${customerId}`);
  });
}

interface Tally {
  runs: number;
  completed: number;
  duplicates: number;
  lost: number;
  notes: string[];
}

/** Waits for the runs to settle, then counts every effect they should have had exactly once. */
async function tally(stack: ChaosStack, work: Workload): Promise<Tally> {
  const { db } = stack;
  const customerIds = work.deletions.map((d) => d.customerId);
  const done = async () => {
    const deletions = await db.customerDeletion.count({ where: { customerId: { in: customerIds }, status: 'completed' } });
    const sequences = await db.sequenceEnrollment.count({ where: { sequenceId: work.sequenceId, status: 'completed' } });
    const undelivered = await db.webhookDelivery.count({ where: { event: { merchantId: work.merchantId }, status: { not: 'succeeded' } } });
    const undispatched = await db.event.count({ where: { merchantId: work.merchantId, dispatchedAt: null } });
    return { deletions, sequences, settled: deletions === customerIds.length && sequences === work.sequenceCustomers.length && undelivered === 0 && undispatched === 0 };
  };
  const deadline = Date.now() + SETTLE_MS;
  let state = await done();
  while (!state.settled && Date.now() < deadline) {
    await sleep(1000);
    state = await done();
  }
  const t: Tally = { runs: customerIds.length + work.sequenceCustomers.length, completed: state.deletions + state.sequences, duplicates: 0, lost: 0, notes: [] };
  t.lost += t.runs - t.completed;

  // Billing: each subscription one closing invoice (in arrears) or one credit note (in advance), each wallet one void.
  for (const deletion of work.deletions) {
    for (const subscription of deletion.subscriptions) {
      const lines = await db.invoiceLine.count({ where: { subscriptionId: subscription.id } });
      const notes = await db.creditNote.count({ where: { subscriptionId: subscription.id } });
      const [wantLines, wantNotes] = subscription.billing_time === 'in_arrears' ? [1, 0] : [1, 1];
      t.duplicates += Math.max(0, lines - wantLines) + Math.max(0, notes - wantNotes);
      t.lost += Math.max(0, wantLines - lines) + Math.max(0, wantNotes - notes);
    }
    const voids = await db.walletTransaction.count({ where: { walletId: deletion.walletId, type: 'voided' } });
    t.duplicates += Math.max(0, voids - 1);
    t.lost += Math.max(0, 1 - voids);
  }

  // Sequences: at most one message per enrolment and step, in the table and at the SMTP server.
  const perStep = await db.$queryRaw<{ count: bigint }[]>`
    SELECT count(*) FROM messages WHERE sequence_id = ${work.sequenceId} GROUP BY enrollment_id, step HAVING count(*) > 1`;
  t.duplicates += perStep.length;
  const messages = await db.message.groupBy({ by: ['status'], where: { sequenceId: work.sequenceId }, _count: true });
  const byStatus = Object.fromEntries(messages.map((m) => [m.status, m._count]));
  const expected = work.sequenceCustomers.length * 3;
  t.lost += Math.max(0, expected - messages.reduce((sum, m) => sum + m._count, 0));
  if (byStatus.unknown) t.notes.push(`${byStatus.unknown} email(s) cut off mid-send: recorded unknown, never resent`);

  // Webhooks: one delivery record per event, each delivered.
  const [counts] = await db.$queryRaw<{ events: bigint; missing: bigint; doubled: bigint }[]>`
    SELECT count(*) AS events,
           count(*) FILTER (WHERE d.n = 0) AS missing,
           count(*) FILTER (WHERE d.n > 1) AS doubled
    FROM events e
    CROSS JOIN LATERAL (SELECT count(*) AS n FROM webhook_deliveries w WHERE w.event_id = e.id) d
    WHERE e.merchant_id = ${work.merchantId}`;
  const { events, missing, doubled } = counts!;
  t.duplicates += Number(doubled);
  t.lost += Number(missing);
  const undelivered = await db.webhookDelivery.count({ where: { event: { merchantId: work.merchantId }, status: { not: 'succeeded' } } });
  t.lost += undelivered;
  t.notes.push(`${n(Number(events))} events`);
  return t;
}

/** Emails the SMTP server accepted more than once (same Message-ID), over the whole run. */
function emailDuplicates(stack: ChaosStack): number {
  return [...stack.smtp.accepted.values()].filter((count) => count > 1).length;
}

// --- The faults -------------------------------------------------------------------------------------

async function workerKills(stack: ChaosStack): Promise<FaultRow> {
  const work = await prepareWorkload(stack, 'Worker kills');
  const before = emailDuplicates(stack);
  let kills = 0;
  let running = true;
  const killer = (async () => {
    while (running) {
      await sleep(2500 + randomInt(2500));
      if (!running) break;
      await stack.killWorker();
      kills += 1;
      await sleep(500);
      stack.startWorker();
    }
  })();
  await startRuns(stack, work);
  // Keep killing while the saga steps and the sequence delays play out.
  await sleep(20_000);
  running = false;
  await killer;
  const t = await tally(stack, work);
  const redelivered = [...stack.receiver.received.values()].filter((count) => count > 1).length;
  return {
    fault: `worker SIGKILLed ${kills} times`,
    runs: t.runs,
    completed: t.completed,
    duplicates: t.duplicates + emailDuplicates(stack) - before,
    lost: t.lost,
    notes: [...t.notes, `${redelivered} webhook(s) received again after a kill (same webhook-id, one record)`].join('; '),
  };
}

async function temporalRestart(stack: ChaosStack): Promise<FaultRow> {
  const work = await prepareWorkload(stack, 'Temporal restart');
  const before = emailDuplicates(stack);
  await startRuns(stack, work, { from: 0, to: 0.5 });
  await sleep(2000);
  log('stopping the Temporal server');
  await stack.stopTemporal();
  // Writes acknowledged while Temporal is down: the other half of the runs, and plain customers.
  const call = client(stack.apiUrl, work.key);
  await startRuns(stack, work, { from: 0.5, to: 1 });
  const acknowledged: string[] = [];
  for (let i = 0; i < 20; i++) {
    const answer = await call('POST', '/v1/customers', { name: `During outage ${i}` });
    if (answer.status === 201) acknowledged.push(answer.body.id);
  }
  await sleep(5000);
  log('starting the Temporal server again');
  await stack.startTemporal();
  const t = await tally(stack, work);
  const found = await stack.db.customer.count({ where: { id: { in: acknowledged } } });
  return {
    fault: 'Temporal server stopped ~15 s mid-run',
    runs: t.runs + acknowledged.length,
    completed: t.completed + found,
    duplicates: t.duplicates + emailDuplicates(stack) - before,
    lost: t.lost + acknowledged.length - found,
    notes: [...t.notes, `${acknowledged.length} writes acknowledged during the outage`].join('; '),
  };
}

async function postgresOutage(stack: ChaosStack): Promise<FaultRow> {
  const key = await stack.merchant('Postgres outage');
  const call = client(stack.apiUrl, key);
  await ok(call, 'POST', '/v1/webhook_endpoints', { url: stack.receiver.url, enabled_events: ['customer.created'] });
  const existing = await ok(call, 'POST', '/v1/customers', { name: 'Existing' });
  const statuses = new Map<number, number>();
  const latencies: number[] = [];
  const created: string[] = [];
  let readyDown = false;
  let running = true;
  const started = Date.now();
  const workers = Array.from({ length: 8 }, async (_, w) => {
    for (let i = 0; running; i++) {
      // The API's pool gives up on a connection after 5 s: 20 s without an answer is a hang.
      const answer = i % 2 === 0 ? await call('GET', `/v1/customers/${existing.id}`, undefined, 20_000) : await call('POST', '/v1/customers', { name: `Load ${w}-${i}` }, 20_000);
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      latencies.push(answer.ms);
      if (answer.status === 201) created.push(answer.body.id);
      if (answer.status === 503) await sleep(100);
    }
  });
  await sleep(8000);
  log('stopping Postgres for 10 s');
  await stack.stopPostgres();
  const downAt = Date.now();
  while (Date.now() - downAt < 10_000) {
    const ready = await fetch(`${stack.apiUrl}/ready`).catch(() => undefined);
    if (ready?.status === 503) readyDown = true;
    await sleep(1000);
  }
  await stack.startPostgres();
  log('Postgres is back');
  await sleep(12_000);
  running = false;
  await Promise.all(workers);
  // Recovery: a write after the outage is relayed and delivered by the worker, on its own.
  const after = await ok(call, 'POST', '/v1/customers', { name: 'After the outage' });
  let delivered = false;
  for (const deadline = Date.now() + 60_000; Date.now() < deadline && !delivered; await sleep(500)) {
    delivered = (await stack.db.webhookDelivery.count({ where: { event: { customerId: after.id }, status: 'succeeded' } })) === 1;
  }
  const requests = [...statuses.values()].reduce((a, b) => a + b, 0);
  const answered = (statuses.get(503) ?? 0) + [...statuses].filter(([status]) => status >= 200 && status < 300).reduce((a, [, c]) => a + c, 0);
  const found = await stack.db.customer.count({ where: { id: { in: created } } });
  const wrong = requests - answered; // 500s, hangs (status 0), anything else
  return {
    fault: 'Postgres stopped 10 s under load',
    runs: requests,
    completed: answered,
    duplicates: 0,
    lost: wrong + (created.length - found) + (delivered ? 0 : 1) + (readyDown ? 0 : 1),
    notes: `${[...statuses].sort().map(([s, c]) => `${s || 'no answer'}: ${n(c)}`).join(', ')}; max ${n(Math.max(...latencies))} ms, p99 ${n(percentile(latencies, 99))} ms; /ready 503 while down: ${readyDown ? 'yes' : 'NO'}; worker recovered: ${delivered ? 'yes' : 'NO'}; ${Math.round((Date.now() - started) / 1000)} s`,
  };
}

async function smtpFaults(stack: ChaosStack): Promise<FaultRow> {
  const key = await stack.merchant('SMTP faults');
  const call = client(stack.apiUrl, key);
  const settings = await ok(call, 'GET', '/v1/settings');
  const sequence = await ok(call, 'POST', '/v1/sequences', { name: 'One email', trigger_tag: 'smtp', steps: [{ channel: 'email', template: { subject: 'Hi', text: 'Hello' } }] });
  const customers: string[] = [];
  const never: string[] = [];
  const before = emailDuplicates(stack);
  const burst = async (label: string) => {
    await each(Array.from({ length: 20 }, (_, i) => i), 8, async (i) => {
      const customer = await ok(call, 'POST', '/v1/customers', { name: `${label} ${i}`, email: `${label}-${i}-${randomUUID().slice(0, 6)}@chaos.test`, tags: ['smtp'] });
      await ok(call, 'POST', '/v1/payments', { customer_id: customer.id, amount: 1500 + i, currency: 'EUR', status: 'succeeded' });
      customers.push(customer.id);
    });
    // A mailbox that refuses every attempt: retried on the schedule, then failed.
    const refused = await ok(call, 'POST', '/v1/customers', { name: 'Never', email: `never-${label}-${randomUUID().slice(0, 6)}@chaos.test` });
    await ok(call, 'POST', '/v1/payments', { customer_id: refused.id, amount: 100, currency: 'EUR', status: 'succeeded' });
    never.push(refused.id);
  };
  for (const mode of ['refuse', 'silent'] as const) {
    log(`SMTP server: ${mode} for 15 s`);
    stack.smtp.setMode(mode);
    await burst(mode);
    await sleep(15_000);
    stack.smtp.setMode('accept');
  }
  const { db } = stack;
  const final = ['sent', 'failed', 'skipped', 'unknown'] as const;
  for (const deadline = Date.now() + SETTLE_MS; Date.now() < deadline; await sleep(1000)) {
    const open = await db.message.count({ where: { merchantId: settings.merchant_id, status: { notIn: [...final] } } });
    const enrolled = await db.sequenceEnrollment.count({ where: { sequenceId: sequence.id, status: 'completed' } });
    if (open === 0 && enrolled === customers.length) break;
  }
  const rows = await db.message.findMany({ where: { merchantId: settings.merchant_id }, select: { customerId: true, status: true, attempts: true } });
  const mustSend = rows.filter((row) => !never.includes(row.customerId!));
  const neverRows = rows.filter((row) => never.includes(row.customerId!));
  const sent = mustSend.filter((row) => row.status === 'sent').length;
  const expected = customers.length * 2; // a receipt and the sequence's email each
  const failedAsPromised = neverRows.filter((row) => row.status === 'failed' && row.attempts === 5).length;
  return {
    fault: 'SMTP refusing 15 s, then silent 15 s',
    runs: expected + never.length,
    completed: sent + failedAsPromised,
    duplicates: emailDuplicates(stack) - before,
    lost: expected - sent + (never.length - failedAsPromised),
    notes: `${n(Math.max(...mustSend.map((row) => row.attempts)))} attempts at most; refused mailboxes failed after 5 attempts: ${failedAsPromised}/${never.length}`,
  };
}

async function fuzz(): Promise<FaultRow> {
  const seed = randomInt(1, 2 ** 31 - 1);
  const requests = Number(process.env.FUZZ_REQUESTS ?? 10_000);
  log(`fuzzing /openapi.json with seed ${seed} (its own test stack)`);
  const child = spawn(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', 'test/http/fuzz.test.ts'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, FUZZ_SEED: String(seed), FUZZ_REQUESTS: String(requests) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return {
    fault: `OpenAPI fuzz, seed ${seed}`,
    runs: requests,
    completed: code === 0 ? requests : 0,
    duplicates: 0,
    lost: code === 0 ? 0 : 1,
    notes: code === 0 ? 'no 5xx, every 4xx documented, database consistent' : `the fuzz test failed (exit ${code}): FUZZ_SEED=${seed} npx vitest run test/http/fuzz.test.ts`,
  };
}

const FAULTS: Record<string, (stack: ChaosStack) => Promise<FaultRow>> = {
  worker: workerKills,
  temporal: temporalRestart,
  postgres: postgresOutage,
  smtp: smtpFaults,
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
  const known = [...Object.keys(FAULTS), 'fuzz'];
  const unknown = wanted.filter((name) => !known.includes(name));
  if (unknown.length) throw new Error(`unknown fault ${unknown.join(', ')}; known: ${known.join(', ')}`);
  const names = wanted.length ? wanted : known;
  log('building dist/ (the API and worker run compiled, as in production)');
  buildDist();
  const rows: FaultRow[] = [];
  const stackFaults = names.filter((name) => name !== 'fuzz');
  if (stackFaults.length) {
    const stack = await startChaosStack();
    try {
      for (const name of stackFaults) {
        log(`fault: ${name}`);
        rows.push(await FAULTS[name]!(stack));
        log(JSON.stringify(rows.at(-1)));
      }
    } finally {
      await stack.stop();
    }
  }
  if (names.includes('fuzz')) rows.push(await fuzz());
  const table = markdownTable(
    ['fault', 'runs', 'completed', 'duplicates', 'lost', 'notes'],
    rows.map((row) => [row.fault, n(row.runs), n(row.completed), n(row.duplicates), n(row.lost), row.notes]),
  );
  process.stdout.write(`\n${table}\n`);
  const dir = join(PROJECT_ROOT, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `chaos-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify({ at: new Date().toISOString(), rows }, null, 2)}\n`);
  process.stdout.write(`\nwritten to ${file}\n`);
  if (rows.some((row) => row.duplicates > 0 || row.lost > 0)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
