import type { Db, DbTx } from '../db.js';
import type { Customer } from '../generated/prisma/client.js';
import type { Environment } from '../generated/prisma/enums.js';
import { findRepliesConcerning, rewriteReplies } from '../idempotency/idempotency.store.js';
import { ConflictError, NotFoundError } from '../lib/errors.js';
import { redactCustomer } from '../lib/personal-data.js';
import { summarize } from '../lib/summary.js';

/** The customer whose personal data is erased. */
export interface ErasureSubject {
  customerId: string;
  merchantId: string;
  environment: Environment;
  /**
   * The customer's personal values as they were before this erasure (empty when a repeated
   * erasure finds them cleared): stores that hold them in free text (an error message, a path)
   * look for them.
   */
  personal: { values: string[]; externalSource: string | null; externalId: string | null };
}

/**
 * A place that holds a customer's personal data or copies of it. `erase` runs in the erasure's
 * transaction, must be safe to run again, and returns how many records it changed. A domain that
 * stores personal data adds its store to the list given to ErasureService in src/services.ts.
 */
export interface PersonalDataStore {
  name: string;
  erase(tx: DbTx, subject: ErasureSubject): Promise<number>;
}

/**
 * GDPR erasure of a deleted customer (the last step of the deletion saga): every store clears
 * what it holds, in one transaction. The customer row stays (billing records point at it) with
 * its personal fields cleared and `erased_at` set; finalized invoices and credit notes keep their
 * billing details (the legal record), and the amounts of payments stay.
 */
export class ErasureService {
  constructor(private readonly deps: { db: Db; stores: PersonalDataStore[] }) {}

  async erase(customerId: string): Promise<string> {
    return this.deps.db.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT 1 FROM customers WHERE id = ${customerId} FOR UPDATE`;
      const customer = await tx.customer.findUnique({ where: { id: customerId } });
      if (!customer) throw new NotFoundError('customer', customerId, 'id');
      if (customer.status !== 'deleted') {
        throw new ConflictError(`Customer ${customerId} is ${customer.status}: only a deleted customer is erased`, 'id');
      }
      const subject: ErasureSubject = {
        customerId,
        merchantId: customer.merchantId,
        environment: customer.environment,
        personal: { values: personalValues(customer), externalSource: customer.externalSource, externalId: customer.externalId },
      };
      const counts: [number, string][] = [];
      for (const store of this.deps.stores) counts.push([await store.erase(tx, subject), store.name]);
      return summarize(counts);
    });
  }
}

/** The customer row: personal fields cleared, `erased_at` set once. */
export const customerProfileStore: PersonalDataStore = {
  name: 'customer profile',
  async erase(tx, { customerId }) {
    return tx.$executeRaw`
      UPDATE customers
      SET external_id = NULL, email = NULL, phone = NULL, name = NULL, metadata = '{}',
          address_line1 = NULL, address_line2 = NULL, address_city = NULL, address_state = NULL,
          address_postal_code = NULL, address_country = NULL, company_name = NULL, tax_id = NULL,
          description = NULL, erased_at = COALESCE(erased_at, now()), updated_at = now()
      WHERE id = ${customerId} AND erased_at IS NULL`;
  },
};

/**
 * The outbox: the customer's events keep their ids, types, amounts and object ids, but no
 * personal field. Webhook deliveries hold no copy (a delivery sends its event's current data), so
 * a delivery still pending sends the erased payload.
 */
export const eventPayloadStore: PersonalDataStore = {
  name: 'event payloads',
  async erase(tx, { customerId }) {
    const events = await tx.event.findMany({ where: { customerId }, select: { id: true, data: true } });
    return rewriteJson(tx, 'events', 'data', events.map(({ id, data }) => ({ id, json: data })), customerId);
  },
};

/**
 * Stored Idempotency-Key replies that concern the customer: every reply naming it (recorded with
 * the reply in `customer_ids`: creates, updates, upserts, batches, a 409 naming it as the existing
 * customer, a sequence preview rendered for it) and every request made on its external-id path.
 * Customer objects and billing snapshots in them are erased, preview steps lose their recipient
 * and rendered content, error messages lose its values, and the path loses its external id. The
 * request hash stays, so a retry of the same request still replays (the erased reply).
 */
export const idempotencyReplyStore: PersonalDataStore = {
  name: 'stored replies',
  async erase(tx, subject) {
    const { customerId, merchantId, environment } = subject;
    const records = await findRepliesConcerning(tx, { merchantId, environment }, customerId, subject.personal.externalId);
    const changed = records.flatMap((record) => {
      const erased = eraseReply(record, subject);
      return erased ? [{ id: record.id, ...erased }] : [];
    });
    if (changed.length === 0) return 0;
    await rewriteReplies(tx, changed);
    return changed.length;
  },
};

const ERASED = '[erased]';
const ERASED_MESSAGE = 'This reply concerned a customer whose personal data was erased.';
const EXTERNAL_PATH = /^(\/v1\/customers\/external\/)([^/?#]+)\/([^/?#]+)(.*)$/s;

/** The erased form of one stored reply and its path, or undefined when it holds nothing of the customer. */
function eraseReply(record: { path: string; json: unknown }, subject: ErasureSubject): { json: unknown; path: string } | undefined {
  const { customerId, personal } = subject;
  let changed = false;
  let path = record.path;
  const external = EXTERNAL_PATH.exec(path);
  if (external && personal.externalId !== null && decoded(external[3]!) === personal.externalId && decoded(external[2]!) === personal.externalSource) {
    path = `${external[1]}${external[2]}/${ERASED}${external[4]}`;
    changed = true;
  }
  const redacted = redactCustomer(record.json, customerId);
  let json = redacted.value;
  changed ||= redacted.changed;
  // Error messages quote values ("A customer with email '…' already exists", a batch item's
  // error): each of the customer's values is erased where quoted (in any case: emails are unique
  // case-insensitively), and a message still holding one is replaced whole.
  const patterns = personal.values.map((value) => new RegExp(value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi'));
  const holds = (text: string) => patterns.some((pattern) => text.search(pattern) >= 0);
  const eraseMessage = (message: string) => {
    if (!holds(message)) return message;
    changed = true;
    const quotedOut = patterns.reduce((text, pattern) => text.replace(new RegExp(`'${pattern.source}'`, 'gi'), `'${ERASED}'`), message);
    return holds(quotedOut) ? ERASED_MESSAGE : quotedOut;
  };
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (node === null || typeof node !== 'object') return node;
    return Object.fromEntries(
      Object.entries(node).map(([key, child]) => [key, key === 'message' && typeof child === 'string' ? eraseMessage(child) : walk(child)]),
    );
  };
  if (patterns.length > 0) json = walk(json);
  return changed ? { json, path } : undefined;
}

function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The customer's personal values as text: what an erased free-text copy must no longer contain. */
function personalValues(customer: Customer): string[] {
  const metadata = Object.values((customer.metadata ?? {}) as Record<string, unknown>).filter((value): value is string => typeof value === 'string');
  return [
    customer.email,
    customer.phone,
    customer.name,
    customer.externalId,
    customer.companyName,
    customer.taxId,
    customer.description,
    customer.addressLine1,
    customer.addressLine2,
    customer.addressCity,
    customer.addressState,
    customer.addressPostalCode,
    ...metadata,
  ].filter((value): value is string => typeof value === 'string' && value.length > 0);
}

/** Writes back, in one statement, the JSON documents that held the customer's personal data. */
async function rewriteJson(
  tx: DbTx,
  table: 'events' | 'idempotency_records',
  column: 'data' | 'response_body',
  rows: { id: string; json: unknown }[],
  customerId: string,
): Promise<number> {
  const changed = rows.flatMap(({ id, json }) => {
    const redacted = redactCustomer(json, customerId);
    return redacted.changed ? [{ id, json: redacted.value }] : [];
  });
  if (changed.length === 0) return 0;
  await tx.$executeRawUnsafe(
    `UPDATE ${table} t SET ${column} = u.json FROM jsonb_to_recordset($1::jsonb) AS u(id text, json jsonb) WHERE t.id = u.id`,
    JSON.stringify(changed),
  );
  return changed.length;
}
