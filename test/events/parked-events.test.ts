import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { eventsCommand } from '../../src/cli/events.js';
import { EventBus, type EventSubscriber } from '../../src/events/event-bus.js';
import { startHousekeeping, type Housekeeping } from '../../src/housekeeping/housekeeping.js';
import { createLogger } from '../../src/logger.js';
import type { Running } from '../../src/runtime.js';
import { createSubscribers, onEventParked } from '../../src/services.js';
import { freshDatabase, type FreshDatabase } from '../support/database.js';
import { eventually, runActivitiesWorker, startTestApi, type TestApi } from '../support/harness.js';
import { address, emailStep, mailTo, sleep } from '../support/messaging.js';
import { startReceiver, type Receiver } from '../support/receiver.js';

const run = promisify(execFile);

// A database, relay and worker (task queue) of their own: this relay's subscribers include one
// that can be broken, standing in for whatever makes a hand-over fail (a bug, a constraint), and
// the suite's relay must not hand these events over first.
describe('parked events: the merchant is told, they are listed, and a replay runs their subscribers once', () => {
  const taskQueue = `parked-events-${process.pid}`;
  const logger = createLogger('silent', 'parked-events-test');
  let database: FreshDatabase;
  let api: TestApi;
  let worker: Running;
  let relay: Housekeeping;
  let receiver: Receiver;
  let broken = true;
  /** Last of the subscribers, so the rows the others wrote for the event are rolled back with it. */
  const fault: EventSubscriber = {
    name: 'fault',
    wants: (event) => event.type === 'payment.succeeded' || event.type === 'customer.tag_added',
    async handle() {
      if (broken) throw new Error('the stats store is read-only (disk full)');
    },
  };

  beforeAll(async () => {
    database = await freshDatabase();
    api = await startTestApi({ DATABASE_URL: database.url, TEMPORAL_TASK_QUEUE: taskQueue });
    worker = await runActivitiesWorker(api, taskQueue, createActivities(api.runtime.services));
    const { services, db } = api.runtime;
    const bus = new EventBus({ db, subscribers: [...createSubscribers(services), fault], logger, onParked: onEventParked(services) });
    relay = startHousekeeping([{ name: 'relay', intervalMs: 50, run: async () => (await bus.relayOnce()) >= bus.batchSize }], logger);
    receiver = await startReceiver([200]);
  });
  afterAll(async () => {
    await relay?.stop();
    await worker?.stop();
    await receiver?.stop();
    await api?.stop();
    await database?.drop();
  });

  const cli = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await eventsCommand(args, { db: api.runtime.db, out: (line) => out.push(line), err: (line) => err.push(line) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  it('parks, notifies once per parking, lists to the owner only, and replays with every subscriber running once', async () => {
    const { sandboxKey: key, liveKey, merchantId } = await api.merchant('Parking');
    const other = await api.merchant('Other tenant');
    const ops = address('parked-ops');
    const buyer = address('parked-buyer');
    await api.request('PATCH', '/v1/settings', { key, body: { notification_email: ops } });
    const hook = await api.request('POST', '/v1/webhook_endpoints', { key, body: { url: receiver.url, enabled_events: ['payment.succeeded', 'customer.tag_added'] } });
    expect(hook.status).toBe(201);
    const sequence = await api.request('POST', '/v1/sequences', { key, body: { name: 'VIP', trigger_tag: 'vip', steps: [emailStep('Welcome, VIP')] } });
    expect(sequence.status).toBe(201);
    const { body: customer } = await api.request('POST', '/v1/customers', { key, body: { email: buyer, name: 'Ada' } });

    // The cause: every hand-over of these two events fails.
    const payment = await api.request('POST', '/v1/payments', { key, body: { customer_id: customer.id, amount: 1250, currency: 'EUR', status: 'succeeded' } });
    expect(payment.status).toBe(201);
    await api.request('POST', `/v1/customers/${customer.id}/tags`, { key, body: { tags: ['vip'] } });
    const parked = await eventually(async () => {
      const rows = await api.runtime.db.event.findMany({ where: { merchantId, parkedAt: { not: null } }, orderBy: { id: 'asc' } });
      return rows.length === 2 ? rows : undefined;
    }, 20_000, 'two parked events');
    const [paid, tagged] = parked as [(typeof parked)[0], (typeof parked)[0]];
    expect([paid.type, tagged.type]).toEqual(['payment.succeeded', 'customer.tag_added']);
    expect(paid).toMatchObject({ dispatchAttempts: 10, dispatchedAt: null, dispatchError: 'the stats store is read-only (disk full)' });

    // The merchant is told, once per parked event, although the relay goes on running.
    const notices = await eventually(async () => {
      const caught = await mailTo(ops);
      return caught.length === 2 ? caught : undefined;
    }, 30_000, 'two parking notices');
    expect(notices.map((notice) => notice.subject).sort()).toEqual(
      [`[sandbox] Event parked: customer.tag_added ${tagged.id}`, `[sandbox] Event parked: payment.succeeded ${paid.id}`].sort(),
    );
    const notice = notices.find((n) => n.subject.includes(paid.id))!;
    expect(notice.text).toContain(`Replay: POST /v1/events/${paid.id}/replay`);
    expect(notice.text, 'internal errors are for operators').not.toContain('disk full');
    // Nothing of theirs happened: the other subscribers' rows went with the failed hand-over.
    expect(await mailTo(buyer)).toEqual([]);
    expect(receiver.received).toEqual([]);
    expect(await api.runtime.db.sequenceEnrollment.count({ where: { customerId: customer.id } })).toBe(0);
    expect(await api.runtime.db.message.count({ where: { merchantId, kind: 'receipt' } })).toBe(0);

    // Listed to its owner, newest first; another merchant's key and the live key see none and replay none.
    const listed = await api.request('GET', '/v1/events?status=parked', { key });
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({ object: 'list', total: 2, has_more: false });
    expect(listed.body.data.map((e: { id: string }) => e.id)).toEqual([tagged.id, paid.id]);
    expect(listed.body.data[1]).toMatchObject({ object: 'event', type: 'payment.succeeded', status: 'parked', dispatch_attempts: 10, customer_id: customer.id });
    expect(listed.body.data[1]).not.toHaveProperty('dispatch_error');
    for (const stranger of [other.sandboxKey, liveKey]) {
      expect((await api.request('GET', '/v1/events?status=parked', { key: stranger })).body).toMatchObject({ total: 0, data: [] });
      const replay = await api.request('POST', `/v1/events/${paid.id}/replay`, { key: stranger });
      expect(replay.status).toBe(404);
      expect(replay.body.error.type).toBe('not_found');
      const replayAll = await api.request('POST', '/v1/events/replay', { key: stranger });
      expect(replayAll.status).toBe(202);
      expect(replayAll.body).toEqual({ object: 'list', data: [], has_more: false });
    }
    expect((await api.request('GET', '/v1/events', { key })).body.error).toMatchObject({ param: 'status' });

    // Operators list them with the error that parked them, from the compiled entrypoint's command.
    const listing = await cli('parked', 'list', '--merchant', merchantId);
    expect(listing.code).toBe(0);
    expect(listing.out).toContain(`${paid.id}  ${merchantId}/sandbox  payment.succeeded  attempts 10`);
    expect(listing.out).toContain('error: the stats store is read-only (disk full)');
    expect(listing.out).toContain('2 parked events');
    expect((await cli('parked', 'list', '--merchant', other.merchantId)).out).toBe(`0 parked events of ${other.merchantId}`);

    // Replayed before the cause is fixed, it parks again and the merchant is told again.
    expect((await api.request('POST', `/v1/events/${paid.id}/replay`, { key })).body).toMatchObject({ status: 'pending', dispatch_attempts: 0 });
    await eventually(async () => ((await mailTo(ops)).length === 3 ? true : undefined), 30_000, 'the notice of the second parking');
    expect(await api.runtime.db.event.findUniqueOrThrow({ where: { id: paid.id } })).toMatchObject({ dispatchAttempts: 10, dispatchedAt: null });

    // The cause fixed: one replayed through the API, the other through the command.
    broken = false;
    const replayed = await api.request('POST', `/v1/events/${paid.id}/replay`, { key });
    expect(replayed.status).toBe(202);
    expect(replayed.body).toMatchObject({ id: paid.id, status: 'pending', parked: null });
    const all = await cli('replay', '--all', '--merchant', merchantId);
    expect(all).toMatchObject({ code: 0 });
    expect(all.out).toContain(`replayed ${tagged.id}  ${merchantId}/sandbox  customer.tag_added`);
    await eventually(async () => ((await mailTo(buyer)).length === 2 ? true : undefined), 30_000, 'the receipt and the sequence email');
    await eventually(async () => (receiver.received.length === 2 ? true : undefined), 30_000, 'both webhooks');
    expect((await api.request('POST', `/v1/events/${paid.id}/replay`, { key })).status).toBe(409);
    expect((await cli('replay', paid.id)).code).toBe(1);

    const effects = async () => ({
      mail: (await mailTo(buyer)).map((m) => m.subject).sort(),
      webhooks: receiver.received.map((r) => r.headers['webhook-id']).sort(),
      deliveries: await api.runtime.db.webhookDelivery.count({ where: { eventId: { in: [paid.id, tagged.id] } } }),
      enrolments: await api.runtime.db.sequenceEnrollment.count({ where: { customerId: customer.id } }),
      receipts: await api.runtime.db.message.count({ where: { merchantId, kind: 'receipt' } }),
    });
    await sleep(1_500);
    const once = {
      mail: ['Receipt from Parking: €12.50', 'Welcome, VIP'],
      webhooks: [paid.id, tagged.id].sort(),
      deliveries: 2,
      enrolments: 1,
      receipts: 1,
    };
    expect(await effects()).toEqual(once);
    expect(await api.runtime.db.event.count({ where: { merchantId, dispatchedAt: null } })).toBe(0);

    // Events whose effects had all happened (receipt sent, webhook delivered, customer enrolled)
    // and that are parked, as after a restore: replayed, they add nothing.
    await api.runtime.db.event.updateMany({
      where: { id: { in: [paid.id, tagged.id] } },
      data: { dispatchedAt: null, dispatchAttempts: 10, parkedAt: new Date() },
    });
    expect((await cli('replay', paid.id)).code).toBe(0);
    const replayAll = await api.request('POST', '/v1/events/replay', { key });
    expect(replayAll.status).toBe(202);
    expect(replayAll.body).toMatchObject({ object: 'list', has_more: false });
    expect(replayAll.body.data.map((event: { id: string }) => event.id)).toEqual([tagged.id]);
    await eventually(async () => ((await api.runtime.db.event.count({ where: { merchantId, dispatchedAt: null } })) === 0 ? true : undefined));
    await sleep(2_000);
    expect(await effects()).toEqual(once);
    expect(await mailTo(ops)).toHaveLength(3);
  });

  it('is a command of the entrypoint: main.ts events', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/main.ts', 'events', 'parked', 'list'], {
      env: { ...process.env, DATABASE_URL: database.url, LOG_LEVEL: 'silent' },
    });
    expect(stdout).toMatch(/^\d+ parked events?$/m);
    await expect(run(process.execPath, ['--import', 'tsx', 'src/main.ts', 'events', 'frobnicate'], { env: { ...process.env, DATABASE_URL: database.url } })).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('usage: events parked list'),
    });
  });
});
