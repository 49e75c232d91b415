import { operationsFor } from '../http/operation.js';
import { EventList, EventObject, EventPath, ListEventsQuery, ReplayedEvents } from './event.schemas.js';
import type { EventService } from './event.service.js';

const op = operationsFor<{ events: EventService }>();
const tag = 'Events';

export const eventOperations = {
  listEvents: op({
    method: 'get',
    path: '/v1/events',
    tag,
    summary: 'List parked events',
    description:
      'Events whose hand-over to their subscribers (webhooks, receipts and notices, sequence enrolments, stats) failed ten ' +
      'times in a row, newest first. None of their effects happen until they are replayed; the notification address is ' +
      'emailed when one is parked.',
    query: ListEventsQuery,
    responses: { 200: { description: 'One page of parked events', schema: EventList } },
    handle: ({ events }, { scope, query }) => events.listParked(scope, query),
  }),
  replayEvent: op({
    method: 'post',
    path: '/v1/events/{id}/replay',
    tag,
    summary: 'Replay a parked event',
    description:
      'Once the cause is fixed: the event goes back to the relay with its attempts cleared and reaches the same ' +
      'subscribers as it would have. Nothing they already did is done twice (one delivery per endpoint and event, one ' +
      'message per key, one live enrolment). 409 unless the event is `parked`.',
    params: EventPath,
    responses: { 202: { description: 'The event, waiting for the relay again', schema: EventObject } },
    errors: [404, 409],
    handle: ({ events }, { write, params }) => events.replay(write, params.id),
  }),
  replayParkedEvents: op({
    method: 'post',
    path: '/v1/events/replay',
    tag,
    summary: 'Replay every parked event',
    description:
      'Once the cause is fixed: up to 1,000 of the key\'s parked events, oldest first, go back to the relay as one replay ' +
      'each would send them (`has_more` says whether more are left for another call). Nothing their subscribers already ' +
      'did is done twice.',
    responses: { 202: { description: 'The events, waiting for the relay again', schema: ReplayedEvents } },
    handle: ({ events }, { write }) => events.replayAll(write),
  }),
};
