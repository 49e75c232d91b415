import { ID_PREFIXES } from './ids.js';

// What counts as a customer's personal data, in one place: the erasure of a deleted customer
// clears these fields on the customer row and in every stored copy of the customer object (event
// payloads, stored idempotent replies); other copies (message recipients, sequence previews...)
// use the same list.

/** The customer object's personal fields and the value each takes once erased. */
export const ERASED_CUSTOMER_FIELDS = {
  external_id: null,
  email: null,
  phone: null,
  name: null,
  address: null,
  company_name: null,
  tax_id: null,
  description: null,
  metadata: {},
} as const;

type Json = unknown;

/** What a rendered sequence preview step shows of its customer: erased whole. */
const PREVIEW_STEP_FIELDS = ['subject', 'html', 'text', 'body', 'error'] as const;

const CUSTOMER_ID = new RegExp(`^${ID_PREFIXES.customer}_[0-9A-HJKMNP-TV-Z]{26}$`);

/** Every customer id a JSON document (a stored reply) contains, anywhere: the customers it concerns. */
export function customerIdsIn(value: Json): string[] {
  const found = new Set<string>();
  const walk = (node: Json): void => {
    if (typeof node === 'string') {
      if (CUSTOMER_ID.test(node)) found.add(node);
    } else if (Array.isArray(node)) node.forEach(walk);
    else if (node !== null && typeof node === 'object') Object.values(node).forEach(walk);
  };
  walk(value);
  return [...found];
}

/**
 * A copy of `value` (any JSON: an event's data, a stored reply) in which every representation of
 * the customer has its personal fields erased, and every billing object of the customer carries
 * no billing snapshot: outside the invoice and credit note rows themselves (the legal record), a
 * snapshot is just another copy of personal data; a sequence preview rendered for the customer
 * loses each step's recipient and rendered content. `changed` says whether anything was erased.
 */
export function redactCustomer(value: Json, customerId: string): { value: Json; changed: boolean } {
  let changed = false;
  const walk = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(walk);
    if (node === null || typeof node !== 'object') return node;
    const record = node as Record<string, Json>;
    const out: Record<string, Json> = {};
    for (const [key, child] of Object.entries(record)) out[key] = walk(child);
    if (record.object === 'customer' && record.id === customerId) {
      for (const [field, erased] of Object.entries(ERASED_CUSTOMER_FIELDS)) {
        if (field in out && JSON.stringify(out[field]) !== JSON.stringify(erased)) {
          out[field] = erased;
          changed = true;
        }
      }
    }
    if (record.customer_id === customerId && 'billing_details' in record && record.billing_details !== null) {
      out.billing_details = null;
      changed = true;
    }
    if (record.object === 'sequence_preview' && record.customer_id === customerId && Array.isArray(out.steps)) {
      out.steps = out.steps.map((step: Json) => {
        const copy = { ...(step as Record<string, Json>) };
        if (copy.recipient !== null && copy.recipient !== undefined) {
          copy.recipient = null;
          changed = true;
        }
        for (const field of PREVIEW_STEP_FIELDS) {
          if (field in copy) {
            delete copy[field];
            changed = true;
          }
        }
        return copy;
      });
    }
    return out;
  };
  const result = walk(value);
  return { value: changed ? result : value, changed };
}
