import type { Event } from '../generated/prisma/client.js';
import type { EventObject } from './event.schemas.js';

export function eventStatus(event: Pick<Event, 'dispatchedAt' | 'parkedAt'>): EventObject['status'] {
  if (event.dispatchedAt) return 'dispatched';
  return event.parkedAt ? 'parked' : 'pending';
}

export function serializeEvent(event: Event): EventObject {
  return {
    id: event.id,
    object: 'event',
    type: event.type,
    environment: event.environment,
    status: eventStatus(event),
    customer_id: event.customerId,
    data: event.data as EventObject['data'],
    dispatch_attempts: event.dispatchAttempts,
    parked: event.parkedAt?.toISOString() ?? null,
    dispatched: event.dispatchedAt?.toISOString() ?? null,
    created: event.createdAt.toISOString(),
  };
}
