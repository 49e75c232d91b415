import type { DbTx } from '../db.js';
import type { BusEvent, EventSubscriber } from '../events/event-bus.js';
import type { Clock } from '../lib/clock.js';
import { newId } from '../lib/ids.js';
import { goalEvent, type GoalEvent } from './sequence.goals.js';
import type { SequenceService } from './sequence.service.js';
import type { Ended, SequenceEnrollmentStore } from './sequence-enrollment.store.js';
import type { SequenceStore } from './sequence.store.js';

/** The events that can start an enrolment or make it ineligible (any other may reach a conversion goal). */
const RELEVANT = new Set(['customer.tag_added', 'customer.tag_removed', 'customer.deleted', 'customer.unsubscribed']);

export interface SequenceReactionDeps {
  store: SequenceStore;
  enrollments: SequenceEnrollmentStore;
  /** Waking enrollers and stopping workflows, after the commit. */
  sequences: Pick<SequenceService, 'nudgeEnrollers' | 'signalStops'>;
  clock: Clock;
}

/**
 * Enrols customers who gained a sequence's trigger tag and ends enrolments their customers may no
 * longer be in, set-based inside the relay's transaction; after the commit it wakes each touched
 * sequence's enroller once per batch and tells ended workflows to stop.
 */
export function sequenceReactions(deps: SequenceReactionDeps): EventSubscriber {
  return {
    name: 'sequences',
    wants: (event) => event.customerId !== null && (RELEVANT.has(event.type) || goalEvent(event) !== undefined),
    handle: (tx, events) => applyEvents(deps, tx, events),
  };
}

/**
 * In the relay's transaction, for a batch of customer events: ends the live enrolments whose
 * version's exit events one of them reaches (`converted`), then those their customers' current
 * state no longer allows (tag lost, exit tag, unsubscribed, deleted), then enrols the customers
 * who gained a trigger tag (current state again: a tag gained and lost before the relay enrols
 * nobody); an enrolment made here whose goal a later event of the batch reaches ends too.
 * Set-based: a batch of 500 events costs a few statements. Returns what to do after the commit:
 * wake the enrollers, stop the ended workflows.
 */
async function applyEvents(deps: SequenceReactionDeps, tx: DbTx, events: BusEvent[]): Promise<(() => Promise<void>) | undefined> {
  const now = deps.clock.now();
  const goals = events.flatMap((event) => goalEvent(event) ?? []);
  const converted = await endConverted(deps, tx, goals, now);
  const customerIds = [...new Set(events.flatMap((event) => (event.customerId && RELEVANT.has(event.type) ? [event.customerId] : [])))];
  const ended: Ended[] = customerIds.length > 0 ? await deps.enrollments.endIneligible(tx, customerIds, now) : [];
  const added = events.filter((event) => event.type === 'customer.tag_added' && event.customerId && typeof event.data.tag === 'string');
  const enrolled = added.length > 0 ? await enrollTagged(deps, tx, added) : [];
  if (enrolled.length > 0) converted.push(...(await endConverted(deps, tx, goals, now)));
  ended.push(...converted);
  if (ended.length === 0 && enrolled.length === 0) return undefined;
  return async () => {
    await Promise.all([deps.sequences.nudgeEnrollers(enrolled), deps.sequences.signalStops(ended)]);
  };
}

async function endConverted({ enrollments }: SequenceReactionDeps, tx: DbTx, goals: GoalEvent[], at: Date): Promise<Ended[]> {
  return goals.length > 0 ? enrollments.endConverted(tx, goals, at) : [];
}

async function enrollTagged({ store, enrollments }: SequenceReactionDeps, tx: DbTx, events: BusEvent[]): Promise<{ id: string; merchantId: string }[]> {
  const tenants = [...new Map(events.map((event) => [`${event.merchantId}:${event.environment}`, event])).values()];
  const sequences = await store.triggeredBy(tx, [...new Set(events.map((event) => event.data.tag as string))], tenants);
  if (sequences.length === 0) return [];
  const rows = events.flatMap((event) =>
    sequences
      .filter(
        (sequence) =>
          sequence.merchantId === event.merchantId &&
          sequence.environment === event.environment &&
          sequence.triggerTag === event.data.tag &&
          // A sequence enrols those who gain its tag from its creation on, not before.
          event.createdAt >= sequence.createdAt,
      )
      .map((sequence) => ({ id: newId('enrollment'), sequenceId: sequence.id, customerId: event.customerId!, at: event.createdAt })),
  );
  if (rows.length === 0) return [];
  return enrollments.insertTagEnrollments(tx, rows);
}
