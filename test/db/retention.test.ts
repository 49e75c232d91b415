import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Prisma } from '../../src/db.js';
import { startHousekeeping } from '../../src/housekeeping/housekeeping.js';
import { pruneOnce, type RetentionSettings } from '../../src/housekeeping/retention.js';
import { newId } from '../../src/lib/ids.js';
import { createLogger } from '../../src/logger.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { freshDatabase, type FreshDatabase } from '../support/database.js';
import { testConfig } from '../support/harness.js';

const DAY = 86_400_000;
const now = new Date();
const daysAgo = (days: number) => new Date(now.getTime() - days * DAY);

// A database of its own: the suite's worker prunes the shared one on its own schedule, and these
// tests must see exactly what one pass does.
describe('retention: old rows go, young and still-needed rows stay', () => {
  let database: FreshDatabase;
  let runtime: Runtime;
  let merchantId: string;
  let customerId: string;
  const settings: RetentionSettings = {
    EVENT_RETENTION: 30 * DAY,
    WEBHOOK_DELIVERY_RETENTION: 30 * DAY,
    MESSAGE_BODY_RETENTION: 90 * DAY,
    RETENTION_BATCH_SIZE: 1_000,
  };
  const prune = (overrides: Partial<RetentionSettings> = {}) => pruneOnce(runtime.services, { ...settings, ...overrides }, now);
  /** Passes until nothing is left to prune, as the housekeeping loop runs them. */
  const pruneAll = async () => {
    while ((await prune()).more);
  };

  beforeAll(async () => {
    database = await freshDatabase();
    runtime = await createRuntime(testConfig({ DATABASE_URL: database.url }), createLogger('silent', 'retention-test'));
    merchantId = (await database.db.merchant.create({ data: { id: newId('merchant'), name: 'Retention' } })).id;
    customerId = (await database.db.customer.create({ data: { id: newId('customer'), merchantId, environment: 'sandbox', email: 'kept@retention.test' } })).id;
  });
  afterAll(async () => {
    await runtime?.stop();
    await database?.drop();
  });

  it('keeps 30 days of events and webhook deliveries and 90 days of message bodies unless told otherwise', () => {
    const config = testConfig();
    expect([config.EVENT_RETENTION, config.WEBHOOK_DELIVERY_RETENTION, config.MESSAGE_BODY_RETENTION]).toEqual([30 * DAY, 30 * DAY, 90 * DAY]);
  });

  async function event(createdAt: Date, state: Partial<Prisma.EventUncheckedCreateInput> = { dispatchedAt: createdAt }): Promise<string> {
    const id = newId('event');
    await database.db.event.create({
      data: { id, merchantId, environment: 'sandbox', type: 'customer.updated', data: { object: { id: customerId } }, createdAt, ...state },
    });
    return id;
  }
  async function endpoint(): Promise<string> {
    const id = newId('webhookEndpoint');
    await database.db.webhookEndpoint.create({ data: { id, merchantId, environment: 'sandbox', url: 'https://hooks.example.com/r', enabledEvents: ['*'], secret: 'whsec_unused' } });
    return id;
  }
  async function delivery(endpointId: string, eventId: string, status: 'pending' | 'succeeded' | 'failed' | 'cancelled', createdAt: Date) {
    const id = newId('webhookDelivery');
    const deliveredAt = status === 'succeeded' ? createdAt : null;
    await database.db.webhookDelivery.create({ data: { id, endpointId, eventId, status, createdAt, deliveredAt, attempts: 1 } });
    return id;
  }
  const remainingEvents = async (ids: string[]) =>
    (await database.db.event.findMany({ where: { id: { in: ids } }, select: { id: true } })).map((row) => row.id).sort();

  it('deletes dispatched events past their window, keeping young, undispatched and parked ones', async () => {
    const old = await event(daysAgo(31));
    const young = await event(daysAgo(29));
    const pending = await event(daysAgo(40), { dispatchedAt: null });
    const parked = await event(daysAgo(40), { dispatchedAt: null, dispatchAttempts: 10, parkedAt: daysAgo(40), dispatchError: 'broken' });

    const pass = await prune();
    expect(pass).toMatchObject({ events: 1, more: false });
    expect(await remainingEvents([old, young, pending, parked])).toEqual([young, pending, parked].sort());
  });

  it('deletes finished deliveries past their window, keeping pending ones and the last success of each endpoint', async () => {
    const endpointId = await endpoint();
    const at = (days: number) => event(daysAgo(days));
    const [e1, e2, e3, e4, e5, e6] = await Promise.all([at(50), at(45), at(44), at(43), at(42), at(2)]);
    await delivery(endpointId, e1!, 'succeeded', daysAgo(50));
    const lastSuccess = await delivery(endpointId, e2!, 'succeeded', daysAgo(45));
    await delivery(endpointId, e3!, 'failed', daysAgo(44));
    await delivery(endpointId, e4!, 'cancelled', daysAgo(43));
    const pending = await delivery(endpointId, e5!, 'pending', daysAgo(42));
    const youngFailed = await delivery(endpointId, e6!, 'failed', daysAgo(2));

    await pruneAll();
    const left = (await database.db.webhookDelivery.findMany({ where: { endpointId }, select: { id: true } })).map((row) => row.id).sort();
    expect(left).toEqual([lastSuccess, pending, youngFailed].sort());
    // An event goes with its last delivery, in the same pass; one a delivery still needs stays, and
    // the foreign key from deliveries to events never stops a batch.
    expect(await remainingEvents([e1!, e2!, e3!, e4!, e5!, e6!])).toEqual([e2!, e5!, e6!].sort());
  });

  it('blanks the subject and facts of finished messages past their window, keeping the rows and every message in flight', async () => {
    const message = async (status: 'queued' | 'sending' | 'sent' | 'skipped' | 'failed' | 'unknown', createdAt: Date) => {
      const row = await database.db.message.create({
        data: {
          id: newId('message'),
          merchantId,
          environment: 'sandbox',
          customerId,
          kind: 'receipt',
          channel: 'email',
          idempotencyKey: `receipt:${newId('payment')}`,
          status,
          recipient: 'kept@retention.test',
          subject: 'Receipt from Retention: €12.50',
          data: { payment: { id: 'pay_x', amount: 1250 } },
          providerMessageId: status === 'sent' ? '<abc@retention.test>' : null,
          createdAt,
        },
      });
      return row.id;
    };
    const blanked = [await message('sent', daysAgo(91)), await message('skipped', daysAgo(120)), await message('failed', daysAgo(95))];
    const kept = [
      await message('queued', daysAgo(100)),
      await message('sending', daysAgo(100)),
      await message('unknown', daysAgo(100)),
      await message('sent', daysAgo(89)),
    ];

    await pruneAll();
    const rows = await database.db.message.findMany({ where: { id: { in: [...blanked, ...kept] } } });
    const byId = new Map(rows.map((row) => [row.id, row]));
    expect(rows).toHaveLength(7);
    for (const id of blanked) {
      expect(byId.get(id)).toMatchObject({ subject: null, data: null, recipient: 'kept@retention.test', merchantId, kind: 'receipt' });
    }
    expect(byId.get(blanked[0]!)).toMatchObject({ status: 'sent', providerMessageId: '<abc@retention.test>' });
    for (const id of kept) expect(byId.get(id)).toMatchObject({ subject: 'Receipt from Retention: €12.50', data: { payment: { id: 'pay_x', amount: 1250 } } });
  });

  it('never touches financial records, however old', async () => {
    const payment = await database.db.payment.create({
      data: { id: newId('payment'), merchantId, environment: 'sandbox', customerId, amount: 1250n, currency: 'EUR', status: 'succeeded', source: 'api', createdAt: daysAgo(4_000) },
    });
    await pruneAll();
    expect(await database.db.payment.findUnique({ where: { id: payment.id } })).toMatchObject({ amount: 1250n, status: 'succeeded' });
  });

  it('works in bounded batches: a backlog takes several passes, each at most one batch per table', async () => {
    const backlog = await Promise.all(Array.from({ length: 25 }, (_, i) => event(daysAgo(60 + i))));
    const passes = [];
    for (let pass = await prune({ RETENTION_BATCH_SIZE: 10 }); ; pass = await prune({ RETENTION_BATCH_SIZE: 10 })) {
      passes.push(pass.events);
      if (!pass.more) break;
    }
    expect(passes).toEqual([10, 10, 5]);
    expect(await remainingEvents(backlog)).toEqual([]);
  });

  it('pauses between full batches instead of running them back to back', async () => {
    let runs = 0;
    const housekeeping = startHousekeeping(
      [{ name: 'always more', intervalMs: 60_000, busyIntervalMs: 60_000, run: async () => (runs += 1) > 0 }],
      createLogger('silent', 'retention-test'),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    await housekeeping.stop();
    expect(runs).toBe(1);
  });
});
