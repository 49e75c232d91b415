import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus, type BusEvent, type EventSubscriber, type ParkedEvent } from '../../src/events/event-bus.js';
import { recordEvents } from '../../src/events/outbox.js';
import { newId } from '../../src/lib/ids.js';
import { createLogger } from '../../src/logger.js';
import { freshDatabase, type FreshDatabase } from '../support/database.js';

// A database of its own: the suite's worker relays every event of the shared one.
describe('the event bus relay', () => {
  let database: FreshDatabase;
  const logger = createLogger('silent', 'event-bus-test');

  beforeAll(async () => {
    database = await freshDatabase();
  });
  afterAll(() => database.drop());

  async function tenantWithEvents(count: number): Promise<{ merchantId: string; ids: string[] }> {
    const merchant = await database.db.merchant.create({ data: { id: newId('merchant'), name: 'Bus' } });
    const scope = { merchantId: merchant.id, environment: 'sandbox' as const };
    await database.db.$transaction((tx) =>
      recordEvents(
        tx,
        scope,
        Array.from({ length: count }, (_, n) => ({ type: 'customer.updated' as const, object: { id: `cus_${n}`, n } })),
      ),
    );
    const events = await database.db.event.findMany({ where: { merchantId: merchant.id }, orderBy: { id: 'asc' } });
    return { merchantId: merchant.id, ids: events.map((event) => event.id) };
  }

  function recorder(name: string, options: { failOn?: (event: BusEvent) => boolean; afterCommit?: () => Promise<void> } = {}) {
    const handled: string[] = [];
    const subscriber: EventSubscriber = {
      name,
      wants: () => true,
      async handle(_tx, events) {
        if (events.some((event) => options.failOn?.(event))) throw new Error(`${name} cannot take this event`);
        handled.push(...events.map((event) => event.id));
        return options.afterCommit;
      },
    };
    return { subscriber, handled };
  }

  it('hands every event to every subscriber once, in order, and one bad event never holds up the rest', async () => {
    const { ids } = await tenantWithEvents(6);
    const poison = ids[2]!;
    const first = recorder('first', { failOn: (event) => event.id === poison });
    const second = recorder('second', { afterCommit: async () => Promise.reject(new Error('Temporal is down')) });
    const told: ParkedEvent[] = [];
    const bus = new EventBus({
      db: database.db,
      subscribers: [first.subscriber, second.subscriber],
      logger,
      onParked: async (_tx, event) => {
        told.push(event);
      },
    });

    expect(await bus.relayOnce()).toBe(5);
    const expected = ids.filter((id) => id !== poison);
    expect(first.handled.filter((id) => ids.includes(id))).toEqual(expected);
    // The second subscriber's failing after-commit work does not undo the hand-over.
    expect(second.handled.filter((id) => ids.includes(id))).toEqual(expected);
    const rows = await database.db.event.findMany({ where: { id: { in: ids } }, orderBy: { id: 'asc' } });
    expect(rows.filter((row) => row.dispatchedAt === null).map((row) => row.id)).toEqual([poison]);
    expect(rows.find((row) => row.id === poison)).toMatchObject({ dispatchAttempts: 1, dispatchError: 'first cannot take this event' });

    // It keeps failing on its own: after ten attempts it is parked and no longer claimed.
    for (let attempt = 2; attempt <= 9; attempt++) await bus.relayOnce();
    expect(await database.db.event.findUniqueOrThrow({ where: { id: poison } })).toMatchObject({ dispatchAttempts: 9, parkedAt: null });
    expect(told).toEqual([]);
    await bus.relayOnce();
    const parked = await database.db.event.findUniqueOrThrow({ where: { id: poison } });
    expect(parked).toMatchObject({ dispatchAttempts: 10, dispatchedAt: null, parkedAt: expect.any(Date) });
    // Told once, with when it was parked.
    expect(told).toEqual([
      { id: poison, merchantId: parked.merchantId, environment: 'sandbox', type: 'customer.updated', error: 'first cannot take this event', attempts: 10, parkedAt: parked.parkedAt },
    ]);
    expect(await bus.relayOnce()).toBe(0);
    expect(told).toHaveLength(1);
  });

  it('parks an event even when telling about it fails: the relay never retries it for ever', async () => {
    const { ids } = await tenantWithEvents(1);
    const broken = recorder('broken', { failOn: () => true });
    const bus = new EventBus({
      db: database.db,
      subscribers: [broken.subscriber],
      logger,
      onParked: async (tx, event) => {
        // Whatever the handler wrote goes with its failure; the parking itself stays.
        await tx.event.update({ where: { id: event.id }, data: { dispatchError: 'overwritten by the handler' } });
        throw new Error('the notification could not be queued');
      },
    });
    for (let attempt = 1; attempt <= 10; attempt++) await bus.relayOnce();
    expect(await database.db.event.findUniqueOrThrow({ where: { id: ids[0]! } })).toMatchObject({
      dispatchAttempts: 10,
      dispatchedAt: null,
      parkedAt: expect.any(Date),
      dispatchError: 'broken cannot take this event',
    });
    expect(await bus.relayOnce()).toBe(0);
  });

  it('two relays running at once never hand the same event over twice', async () => {
    const { ids } = await tenantWithEvents(1200);
    const seen = recorder('seen');
    const relay = () => new EventBus({ db: database.db, subscribers: [seen.subscriber], logger, batchSize: 100 });
    const drain = async (bus: EventBus) => {
      while ((await bus.relayOnce()) > 0);
    };
    await Promise.all([drain(relay()), drain(relay())]);
    const mine = seen.handled.filter((id) => ids.includes(id));
    expect(mine).toHaveLength(ids.length);
    expect(new Set(mine).size).toBe(ids.length);
  });

  it("takes merchants in turns: one merchant's backlog never holds up another's events", async () => {
    const busy = await tenantWithEvents(600);
    const quiet = await tenantWithEvents(2);
    const seen = recorder('turns');
    const bus = new EventBus({ db: database.db, subscribers: [seen.subscriber], logger, batchSize: 100 });

    expect(await bus.relayOnce()).toBe(100);
    // The quiet merchant's two events, newer than all of the busy one's, are in the first batch,
    // and the busy merchant's come oldest first.
    expect(seen.handled.filter((id) => quiet.ids.includes(id))).toEqual(quiet.ids);
    expect(seen.handled.filter((id) => busy.ids.includes(id))).toEqual(busy.ids.slice(0, 98));
    while ((await bus.relayOnce()) > 0);
    expect(seen.handled.filter((id) => busy.ids.includes(id))).toEqual(busy.ids);
  });
});
