import type { Db, DbTx, SqlPool } from '../db.js';
import type { Customer } from '../generated/prisma/client.js';
import { newId } from '../lib/ids.js';
import type { NewEvent } from '../events/outbox.js';
import type { Scope } from '../lib/scope.js';

// Set-based writes of whole customer rows: every write path (create, update, upsert, batch upsert)
// computes the rows it wants in memory and writes them here in one statement per kind, with their
// events in the same statement, so a batch of a thousand costs what a single row costs.

/** The columns a write sets; `id`, tenant, status and timestamps are handled here. */
export type CustomerColumns = Pick<
  Customer,
  | 'externalId'
  | 'externalSource'
  | 'email'
  | 'phone'
  | 'name'
  | 'tags'
  | 'metadata'
  | 'addressLine1'
  | 'addressLine2'
  | 'addressCity'
  | 'addressState'
  | 'addressPostalCode'
  | 'addressCountry'
  | 'companyName'
  | 'taxId'
  | 'description'
  | 'timezone'
  | 'currency'
>;

const COLUMN_NAMES: Record<keyof CustomerColumns, string> = {
  externalId: 'external_id',
  externalSource: 'external_source',
  email: 'email',
  phone: 'phone',
  name: 'name',
  tags: 'tags',
  metadata: 'metadata',
  addressLine1: 'address_line1',
  addressLine2: 'address_line2',
  addressCity: 'address_city',
  addressState: 'address_state',
  addressPostalCode: 'address_postal_code',
  addressCountry: 'address_country',
  companyName: 'company_name',
  taxId: 'tax_id',
  description: 'description',
  timezone: 'timezone',
  currency: 'currency',
};
const COLUMNS = Object.keys(COLUMN_NAMES) as (keyof CustomerColumns)[];

/** jsonb_to_recordset column list and the expression that reads each column back. */
const RECORD_TYPES: Record<keyof CustomerColumns, string> = Object.fromEntries(
  COLUMNS.map((column) => [column, column === 'tags' || column === 'metadata' ? 'jsonb' : 'text']),
) as Record<keyof CustomerColumns, string>;
const recordDefinition = COLUMNS.map((column) => `${COLUMN_NAMES[column]} ${RECORD_TYPES[column]}`).join(', ');
const valueOf = (column: keyof CustomerColumns) =>
  column === 'tags' ? `ARRAY(SELECT jsonb_array_elements_text(u.tags))` : `u.${COLUMN_NAMES[column]}`;

const INSERT_SQL = `
  WITH inserted AS (
    INSERT INTO customers (id, merchant_id, environment, status, created_at, updated_at, ${COLUMNS.map((c) => COLUMN_NAMES[c]).join(', ')})
    SELECT u.id, u.merchant_id, u.environment::"Environment", 'active', u.created_at, u.created_at, ${COLUMNS.map(valueOf).join(', ')}
    FROM jsonb_to_recordset($1::jsonb) AS u(id text, merchant_id text, environment text, created_at timestamptz, ${recordDefinition})
    ON CONFLICT DO NOTHING
    RETURNING id
  ), recorded AS (
    INSERT INTO events (id, merchant_id, environment, type, customer_id, data, created_at)
    SELECT e.id, e.merchant_id, e.environment::"Environment", e.type, e.customer_id, e.data, e.created_at
    FROM jsonb_to_recordset($2::jsonb) AS e(id text, merchant_id text, environment text, type text, customer_id text, data jsonb, created_at timestamptz)
    WHERE e.customer_id IN (SELECT id FROM inserted)
  )
  SELECT id FROM inserted`;

const UPDATE_SQL = `
  WITH updated AS (
    UPDATE customers c SET updated_at = u.updated_at, ${COLUMNS.map((c) => `${COLUMN_NAMES[c]} = ${valueOf(c)}`).join(', ')}
    FROM jsonb_to_recordset($1::jsonb) AS u(id text, updated_at timestamptz, ${recordDefinition})
    WHERE c.id = u.id
    RETURNING c.id
  ), recorded AS (
    INSERT INTO events (id, merchant_id, environment, type, customer_id, data, created_at)
    SELECT e.id, e.merchant_id, e.environment::"Environment", e.type, e.customer_id, e.data, e.created_at
    FROM jsonb_to_recordset($2::jsonb) AS e(id text, merchant_id text, environment text, type text, customer_id text, data jsonb, created_at timestamptz)
    WHERE e.customer_id IN (SELECT id FROM updated)
  )
  SELECT id FROM updated`;

/** Anything plain SQL can run on: the pool (one statement, its own transaction) or Prisma's client or transaction. */
export type SqlTarget = Db | DbTx | SqlPool;

async function runSql<Row>(target: SqlTarget, text: string, values: unknown[]): Promise<Row[]> {
  if ('query' in target && typeof target.query === 'function') return (await (target as SqlPool).query(text, values)).rows as Row[];
  return (target as Db).$queryRawUnsafe<Row[]>(text, ...values);
}

const camelNames = new Map<string, string>();
const camel = (column: string) => {
  let name = camelNames.get(column);
  if (name === undefined) {
    name = column.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
    camelNames.set(column, name);
  }
  return name;
};

/** A `customers` row read with plain SQL, as Prisma would return it. */
export function customerFromRow(row: Record<string, unknown>): Customer {
  return Object.fromEntries(Object.entries(row).map(([column, value]) => [camel(column), value])) as Customer;
}

/** A live (deleting included) customer of the tenant by id, in one plain query. */
export async function findCustomer(target: SqlTarget, scope: Scope, id: string): Promise<Customer | undefined> {
  const [row] = await runSql<Record<string, unknown>>(
    target,
    'SELECT * FROM customers WHERE id = $1 AND merchant_id = $2 AND environment = $3::"Environment" AND deleted_at IS NULL',
    [id, scope.merchantId, scope.environment],
  );
  return row && customerFromRow(row);
}

function recordOf(customer: Customer): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const column of COLUMNS) record[COLUMN_NAMES[column]] = customer[column];
  return record;
}

function eventRecords(scope: Scope, events: NewEvent[], at: Date): Record<string, unknown>[] {
  return events.map((event) => ({
    id: newId('event'),
    merchant_id: scope.merchantId,
    environment: scope.environment,
    type: event.type,
    customer_id: event.customerId ?? null,
    data: { object: event.object, ...event.extra },
    created_at: at,
  }));
}

/**
 * Inserts new customers, with the events of those inserted, in one statement. A row that clashes
 * with a live customer on a unique key (external key, email) is skipped, not an error: its id is
 * missing from the result and the caller decides what the clash means.
 */
export async function insertCustomers(db: SqlTarget, scope: Scope, rows: Customer[], events: NewEvent[]): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  const at = rows[0]!.createdAt;
  const customers = rows.map((row) => ({
    id: row.id,
    merchant_id: scope.merchantId,
    environment: scope.environment,
    created_at: row.createdAt,
    ...recordOf(row),
  }));
  const inserted = await runSql<{ id: string }>(db, INSERT_SQL, [JSON.stringify(customers), JSON.stringify(eventRecords(scope, events, at))]);
  return new Set(inserted.map((row) => row.id));
}

/** Writes the given columns of existing customers (locked by the caller), with their events. */
export async function updateCustomers(db: SqlTarget, scope: Scope, rows: Customer[], events: NewEvent[]): Promise<void> {
  if (rows.length === 0) return;
  const at = rows[0]!.updatedAt;
  const customers = rows.map((row) => ({ id: row.id, updated_at: row.updatedAt, ...recordOf(row) }));
  await runSql(db, UPDATE_SQL, [JSON.stringify(customers), JSON.stringify(eventRecords(scope, events, at))]);
}

/** Live customers of a tenant with these ids, locked for the rest of the transaction. */
export async function lockCustomers(tx: DbTx, scope: Scope, ids: string[]): Promise<Customer[]> {
  if (ids.length === 0) return [];
  const rows = await tx.$queryRaw<Record<string, unknown>[]>`
    SELECT * FROM customers
    WHERE id = ANY(${ids}) AND merchant_id = ${scope.merchantId} AND environment = ${scope.environment}::"Environment" AND deleted_at IS NULL
    ORDER BY id
    FOR UPDATE`;
  return rows.map(customerFromRow);
}

/**
 * Live customers of a tenant with these (source, external id) pairs, locked. Plain equality on
 * both columns, so the live-key unique index finds each pair (IS NOT DISTINCT FROM would not).
 */
export async function lockByExternalKeys(tx: DbTx, scope: Scope, keys: { source: string; externalId: string }[]): Promise<Customer[]> {
  if (keys.length === 0) return [];
  const rows = await tx.$queryRaw<Record<string, unknown>[]>`
    SELECT c.* FROM customers c
    WHERE c.merchant_id = ${scope.merchantId} AND c.environment = ${scope.environment}::"Environment"
      AND c.deleted_at IS NULL AND c.external_id IS NOT NULL
      AND (c.external_source, c.external_id) IN (
        SELECT * FROM unnest(${keys.map((k) => k.source)}::text[], ${keys.map((k) => k.externalId)}::text[]))
    ORDER BY c.id
    FOR UPDATE OF c`;
  return rows.map(customerFromRow);
}

/** Live customers of a tenant holding any of these emails (compared case-insensitively). */
export async function customersByEmail(db: Db | DbTx, scope: Scope, emails: string[]): Promise<{ id: string; email: string }[]> {
  if (emails.length === 0) return [];
  return db.$queryRaw<{ id: string; email: string }[]>`
    SELECT id, lower(email) AS email FROM customers
    WHERE merchant_id = ${scope.merchantId} AND environment = ${scope.environment}::"Environment" AND deleted_at IS NULL
      AND email IS NOT NULL AND lower(email) = ANY(${emails.map((email) => email.toLowerCase())})`;
}

/**
 * The number of listed customers (active, not deleted) of a tenant: the sum of the deltas the
 * customer_counts triggers wrote, which housekeeping keeps to a few rows per tenant.
 */
export async function listedCustomerCount(db: Db | DbTx, scope: Scope): Promise<number> {
  const [row] = await db.$queryRaw<{ total: bigint | null }[]>`
    SELECT sum(delta)::bigint AS total FROM customer_counts
    WHERE merchant_id = ${scope.merchantId} AND environment = ${scope.environment}::"Environment"`;
  return Number(row?.total ?? 0);
}

/**
 * Folds each tenant's customer-count deltas into one row. Safe beside writers: the delete takes
 * only the rows its statement sees, and a delta committed meanwhile stays for the next fold.
 * Returns how many tenants were folded.
 */
export async function compactCustomerCounts(db: Db): Promise<number> {
  return db.$executeRaw`
    WITH folded AS (
      DELETE FROM customer_counts
      WHERE (merchant_id, environment) IN (SELECT merchant_id, environment FROM customer_counts GROUP BY 1, 2 HAVING count(*) > 1)
      RETURNING merchant_id, environment, delta)
    INSERT INTO customer_counts (merchant_id, environment, delta)
    SELECT merchant_id, environment, sum(delta) FROM folded GROUP BY 1, 2`;
}
