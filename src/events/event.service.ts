import type { Db } from '../db.js';
import type { Event } from '../generated/prisma/client.js';
import { ConflictError, NotFoundError } from '../lib/errors.js';
import type { Page } from '../lib/pagination.js';
import type { Scope, WriteContext } from '../lib/scope.js';
import type { EventObject, ListEventsQuery, ReplayedEvents } from './event.schemas.js';
import { serializeEvent } from './event.serializer.js';
import { dispatchStateOf, oldestParkedIds, parkedEvents, parkedPage, pruneEvents, releaseParked } from './outbox.js';

/** Parked events one API call replays at most: one short transaction, one reply of bounded size. */
const REPLAY_PAGE = 1_000;


/**
 * The outbox's events after they were recorded: the parked ones (listed, replayed) and retention.
 * A replay puts a parked event back in the relay's queue with its attempts cleared, so it reaches
 * the same subscribers as any event; their own uniqueness (one delivery per endpoint and event,
 * one message per key, one live enrolment) keeps whatever they had already done from repeating.
 */
export class EventService {
  constructor(private readonly deps: { db: Db }) {}

  /** The tenant's parked events, newest first. */
  async listParked(scope: Scope, query: ListEventsQuery): Promise<Page<EventObject>> {
    return parkedPage(this.deps.db, scope, query, serializeEvent);
  }

  /** Replays one of the tenant's parked events: 404 if it is not the tenant's, 409 if it is not parked. */
  async replay(write: WriteContext<EventObject>, id: string): Promise<EventObject> {
    return this.deps.db.$transaction(async (tx) => {
      const scoped = { id, merchantId: write.merchantId, environment: write.environment };
      const [replayed] = await releaseParked(tx, scoped);
      if (!replayed) {
        const event = await dispatchStateOf(tx, write, id);
        if (!event) throw new NotFoundError('event', id, 'id');
        throw new ConflictError(`Event ${id} is not parked: it is ${event.dispatchedAt ? 'dispatched' : 'waiting for the relay'}`, 'id');
      }
      const result = serializeEvent(replayed);
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  /** Replays the tenant's oldest parked events, up to REPLAY_PAGE of them. */
  async replayAll(write: WriteContext<ReplayedEvents>): Promise<ReplayedEvents> {
    return this.deps.db.$transaction(async (tx) => {
      const oldest = await oldestParkedIds(tx, write, REPLAY_PAGE + 1);
      const ids = oldest.slice(0, REPLAY_PAGE);
      const replayed = await releaseParked(tx, { merchantId: write.merchantId, environment: write.environment, id: { in: ids } });
      replayed.sort((a, b) => a.id.localeCompare(b.id));
      const result: ReplayedEvents = { object: 'list', data: replayed.map(serializeEvent), has_more: oldest.length > REPLAY_PAGE };
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  // --- Operators (the `events` command): every tenant ------------------------------------------------

  /** Parked events, oldest first, of one merchant or of all. */
  async parked(filter: { merchantId?: string; limit: number }): Promise<Event[]> {
    return parkedEvents(this.deps.db, filter);
  }

  /** Replays one parked event by id, or every parked event (of one merchant). Returns those replayed. */
  async replayParked(filter: { id?: string; merchantId?: string }): Promise<Event[]> {
    return this.deps.db.$transaction((tx) => releaseParked(tx, filter));
  }

  // --- Retention -------------------------------------------------------------------------------------

  /** See pruneEvents: the oldest dispatched events past `cutoff` that no delivery refers to. */
  async prune(cutoff: Date, limit: number): Promise<number> {
    return pruneEvents(this.deps.db, cutoff, limit);
  }
}
