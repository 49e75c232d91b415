import { z } from 'zod';
import { idSchema } from '../lib/ids.js';
import { ListEnvelope, paginationQuery } from '../lib/pagination.js';

export const EventObject = z
  .object({
    id: z.string().meta({ example: 'evt_01JD3Z6Q4W8V2G7R1M5K9T0XYZ' }),
    object: z.literal('event'),
    type: z.string().meta({ example: 'payment.succeeded' }),
    environment: z.enum(['sandbox', 'live']),
    status: z.enum(['pending', 'dispatched', 'parked']).meta({
      description:
        '`pending`: waiting for the relay to hand it to its subscribers (webhooks, receipts and notices, sequences, stats). ' +
        '`dispatched`: handed over. `parked`: the hand-over failed ' +
        'ten times in a row; nothing of it happens until it is replayed.',
    }),
    customer_id: z.string().nullable(),
    data: z.record(z.string(), z.unknown()).meta({ description: 'What webhooks receive as `data`: `object` and, for some types, more.' }),
    dispatch_attempts: z.number().int().meta({ description: 'Failed hand-overs since it was recorded or last replayed.' }),
    parked: z.iso.datetime().nullable().meta({ description: 'When it was parked; null unless `parked`.' }),
    dispatched: z.iso.datetime().nullable(),
    created: z.iso.datetime(),
  })
  .meta({ id: 'Event' });
export type EventObject = z.infer<typeof EventObject>;
export const EventList = ListEnvelope(EventObject).meta({ id: 'EventList' });

export const ListEventsQuery = paginationQuery('event').extend({
  status: z.enum(['parked']).meta({ description: 'Which events: `parked`, the events waiting for a replay (the only list offered).' }),
});
export type ListEventsQuery = z.infer<typeof ListEventsQuery>;

export const ReplayedEvents = z
  .object({
    object: z.literal('list'),
    data: z.array(EventObject),
    has_more: z.boolean().meta({ description: 'More parked events are left: call again.' }),
  })
  .meta({ id: 'ReplayedEvents' });
export type ReplayedEvents = z.infer<typeof ReplayedEvents>;

export const EventPath = z.object({ id: idSchema('event') });
