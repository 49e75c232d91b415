import type { Db, DbTx } from '../db.js';
import type { Environment } from '../generated/prisma/enums.js';
import type { Logger } from '../logger.js';
import { claimEvents, countFailedHandOver, markDispatched } from './outbox.js';

/** A committed event as subscribers see it. */
export interface BusEvent {
  id: string;
  merchantId: string;
  environment: Environment;
  type: string;
  customerId: string | null;
  data: { object: { id: string; [field: string]: unknown }; [field: string]: unknown };
  createdAt: Date;
}

/** Work a subscriber does once the batch it handled is committed: start or signal workflows. */
export type AfterCommit = () => Promise<void>;

/**
 * A reaction to events. `wants` must be cheap (no I/O): it runs for every event. `handle` runs
 * inside the relay's transaction with the events of a batch the subscriber wants, writes what they
 * require (rows), and returns what must happen after the commit (Temporal calls). Temporal is never
 * called inside the transaction, and never once per event when a batch can share one call.
 */
export interface EventSubscriber {
  readonly name: string;
  wants(event: BusEvent): boolean;
  handle(tx: DbTx, events: BusEvent[]): Promise<AfterCommit | void>;
}

/** Failed hand-overs of one event after which the relay parks it (it stays until replayed). */
export const MAX_DISPATCH_ATTEMPTS = 10;

/** An event the relay has just parked, for whoever must be told. */
export interface ParkedEvent {
  id: string;
  merchantId: string;
  environment: Environment;
  type: string;
  error: string;
  attempts: number;
  parkedAt: Date;
}

/**
 * Runs in the transaction that parks the event (so the event is never parked without it), and
 * returns what to do after the commit.
 */
export type ParkedEventHandler = (tx: DbTx, event: ParkedEvent) => Promise<AfterCommit | void>;

/**
 * The event bus: the outbox relay claims committed, undispatched events in batches (several relays
 * may run: claims skip each other's rows), hands each batch to the subscribers in one transaction
 * with marking the events dispatched, and runs the subscribers' after-commit work. A batch that
 * fails is retried event by event, so one bad event never holds up the others; an event that keeps
 * failing on its own is parked after ten attempts with its error, and `onParked` is told.
 */
export class EventBus {
  constructor(
    private readonly deps: {
      db: Db;
      subscribers: EventSubscriber[];
      logger: Logger;
      batchSize?: number;
      onParked?: ParkedEventHandler;
    },
  ) {}

  get batchSize(): number {
    return this.deps.batchSize ?? 500;
  }

  /** One pass. Returns how many events it handed over. */
  async relayOnce(): Promise<number> {
    let after: AfterCommit[] = [];
    let claimed: BusEvent[] = [];
    try {
      await this.deps.db.$transaction(async (tx) => {
        claimed = await claimEvents(tx, this.batchSize, MAX_DISPATCH_ATTEMPTS);
        after = await this.dispatch(tx, claimed);
      });
    } catch (error) {
      if (claimed.length === 0) throw error;
      this.deps.logger.warn({ err: error, events: claimed.length }, 'event batch failed; handing events over one by one');
      return this.relayOneByOne(claimed.map((event) => event.id));
    }
    await this.runAfterCommit(after);
    return claimed.length;
  }

  private async relayOneByOne(ids: string[]): Promise<number> {
    let handed = 0;
    for (const id of ids) {
      let after: AfterCommit[] = [];
      try {
        await this.deps.db.$transaction(async (tx) => {
          const [event] = await claimEvents(tx, 1, MAX_DISPATCH_ATTEMPTS, id);
          if (event) after = await this.dispatch(tx, [event]);
        });
        handed += 1;
        await this.runAfterCommit(after);
      } catch (error) {
        this.deps.logger.error({ err: error, eventId: id }, 'event could not be handed to its subscribers');
        await this.recordFailure(id, error instanceof Error ? error.message : String(error));
      }
    }
    return handed;
  }

  /**
   * Counts a failed hand-over of one event. The one that reaches MAX_DISPATCH_ATTEMPTS parks it and
   * tells `onParked` in the same transaction; should telling fail, the event is parked all the
   * same (a failure to park must not make the relay retry it for ever) and the failure is logged.
   */
  private async recordFailure(id: string, error: string): Promise<void> {
    const count = (db: Db | DbTx) => countFailedHandOver(db, id, error, MAX_DISPATCH_ATTEMPTS);
    const after: AfterCommit[] = [];
    try {
      await this.deps.db.$transaction(async (tx) => {
        const row = await count(tx);
        if (row?.parked_at && row.dispatch_attempts === MAX_DISPATCH_ATTEMPTS) {
          this.deps.logger.error({ eventId: id, type: row.type, merchantId: row.merchant_id, error }, 'event parked: replay it once the cause is fixed');
          const work = await this.deps.onParked?.(tx, {
            id: row.id,
            merchantId: row.merchant_id,
            environment: row.environment,
            type: row.type,
            error,
            attempts: row.dispatch_attempts,
            parkedAt: row.parked_at,
          });
          if (work) after.push(work);
        }
      });
    } catch (failure) {
      after.length = 0;
      this.deps.logger.error({ err: failure, eventId: id }, 'could not record the failed hand-over with its notice; recording it without');
      await count(this.deps.db).catch((again: unknown) => this.deps.logger.error({ err: again, eventId: id }, 'could not record a failed hand-over'));
    }
    await this.runAfterCommit(after);
  }

  private async dispatch(tx: DbTx, events: BusEvent[]): Promise<AfterCommit[]> {
    if (events.length === 0) return [];
    const after: AfterCommit[] = [];
    for (const subscriber of this.deps.subscribers) {
      const wanted = events.filter((event) => subscriber.wants(event));
      if (wanted.length === 0) continue;
      const work = await subscriber.handle(tx, wanted);
      if (work) after.push(work);
    }
    await markDispatched(tx, events.map((event) => event.id));
    return after;
  }

  /** After-commit work that fails is repaired by its subscriber's reconciler; it never undoes the batch. */
  private async runAfterCommit(work: AfterCommit[]): Promise<void> {
    const results = await Promise.allSettled(work.map((run) => run()));
    for (const result of results) {
      if (result.status === 'rejected') this.deps.logger.warn({ err: result.reason }, 'after-commit work of a subscriber failed');
    }
  }
}
