import type { BusEvent } from '../events/event-bus.js';
import { EVENT_TYPES } from '../events/event-types.js';

/**
 * The event types a conversion goal may name: the catalogue's, except those of a customer's
 * deletion, which ends every enrolment by itself (`customer_deleted`).
 */
export const GOAL_EVENT_TYPES = EVENT_TYPES.filter((type) => type !== 'customer.deleted' && type !== 'customer.deletion_action_required');
const GOAL_TYPES = new Set<string>(GOAL_EVENT_TYPES);

/** The objects (the part of an event type before the dot) that carry a `currency`. */
const CURRENCY_OBJECTS = new Set(['customer', 'payment', 'subscription', 'invoice', 'credit_note', 'wallet', 'applied_coupon']);
/** The field of an event's object that `min_amount` compares, in integer minor units. */
const AMOUNT_FIELDS: Record<string, string> = { payment: 'amount', subscription: 'amount', invoice: 'total', credit_note: 'amount' };

const objectOf = (type: string) => type.slice(0, type.indexOf('.'));

/** Why a goal's match field cannot apply to its event type, if it cannot. */
export function unmatchableField(type: string, field: 'currency' | 'min_amount'): string | undefined {
  const object = objectOf(type);
  if (field === 'currency' && !CURRENCY_OBJECTS.has(object)) return `${type} events carry no currency`;
  if (field === 'min_amount' && !AMOUNT_FIELDS[object]) {
    return `${type} events carry no amount; min_amount applies to payment, subscription, invoice (its total) and credit_note events`;
  }
  return undefined;
}

/** A goal as stored (on the sequence and its version) and shown: the match fields explicit, null when not set. */
export interface ExitEvent {
  type: string;
  match: { currency: string | null; min_amount: number | null };
}

/** What a goal is matched against: the relayed event's tenant, customer, type, currency and amount. */
export interface GoalEvent {
  id: string;
  merchantId: string;
  environment: string;
  customerId: string;
  type: string;
  currency: string | null;
  /** Digits (an amount past 2^53 - 1 is answered as a string), or null when the object has none. */
  amount: string | null;
  at: Date;
}

/** The relayed event as a goal can match it; undefined when no goal can name it. */
export function goalEvent(event: BusEvent): GoalEvent | undefined {
  if (!event.customerId || !GOAL_TYPES.has(event.type)) return undefined;
  const object = event.data.object;
  const currency = CURRENCY_OBJECTS.has(objectOf(event.type)) && typeof object.currency === 'string' ? object.currency : null;
  const field = AMOUNT_FIELDS[objectOf(event.type)];
  const value = field === undefined ? undefined : object[field];
  const amount = (typeof value === 'number' && Number.isInteger(value)) || (typeof value === 'string' && /^-?\d+$/.test(value)) ? String(value) : null;
  return {
    id: event.id,
    merchantId: event.merchantId,
    environment: event.environment,
    customerId: event.customerId,
    type: event.type,
    currency,
    amount,
    at: event.createdAt,
  };
}
