import type { Db, DbTx } from '../db.js';
import type { Environment } from '../generated/prisma/enums.js';
import { ConflictError, NotFoundError } from '../lib/errors.js';
import { redactCustomer } from '../lib/personal-data.js';
import { summarize } from '../lib/summary.js';

/** The customer whose personal data is erased. */
export interface ErasureSubject {
  customerId: string;
  merchantId: string;
  environment: Environment;
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
      const subject = { customerId, merchantId: customer.merchantId, environment: customer.environment };
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

/** Stored idempotent replies that show the customer (creates, updates, upserts, batches). */
export const idempotencyReplyStore: PersonalDataStore = {
  name: 'stored replies',
  async erase(tx, { customerId, merchantId, environment }) {
    const replies = await tx.$queryRaw<{ id: string; json: unknown }[]>`
      SELECT id, response_body AS json FROM idempotency_records
      WHERE merchant_id = ${merchantId} AND environment = ${environment}::"Environment"
        AND strpos(response_body::text, ${`"${customerId}"`}) > 0`;
    return rewriteJson(tx, 'idempotency_records', 'response_body', replies, customerId);
  },
};

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
