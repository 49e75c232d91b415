import type { EventSubscriber } from '../events/event-bus.js';
import type { SequenceService } from './sequence.service.js';

/** The events that can start or end an enrolment. */
const RELEVANT = new Set(['customer.tag_added', 'customer.tag_removed', 'customer.deleted', 'customer.unsubscribed']);

/**
 * Enrols customers who gained a sequence's trigger tag and ends enrolments their customers may no
 * longer be in, set-based inside the relay's transaction; after the commit it wakes each touched
 * sequence's enroller once per batch and tells ended workflows to stop.
 */
export function sequenceSubscriber(sequences: SequenceService): EventSubscriber {
  return {
    name: 'sequences',
    wants: (event) => RELEVANT.has(event.type) && event.customerId !== null,
    handle: (tx, events) => sequences.applyEvents(tx, events),
  };
}
