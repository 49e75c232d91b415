// What counts as a customer's personal data, in one place: the erasure of a deleted customer
// clears these fields on the customer row and in every stored copy of the customer object (event
// payloads, stored idempotent replies); other copies (message recipients...) use the same list.

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

/**
 * A copy of `value` (any JSON: an event's data, a stored reply) in which every representation of
 * the customer has its personal fields erased, and every billing object of the customer carries
 * no billing snapshot: outside the invoice and credit note rows themselves (the legal record), a
 * snapshot is just another copy of personal data. `changed` says whether anything was erased.
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
    return out;
  };
  const result = walk(value);
  return { value: changed ? result : value, changed };
}
