import type { Db, DbTx, Prisma, SqlPool } from '../db.js';
import { eventRows, insertEventsSql, type NewEvent } from '../events/outbox.js';
import type { Customer, CustomerDeletion, CustomerStats } from '../generated/prisma/client.js';
import { paginate, type Page } from '../lib/pagination.js';
import type { Scope } from '../lib/scope.js';
import type { ListCustomersQuery } from './customer.schemas.js';

// The customers table's store, and its only writer (with the customer_counts its triggers feed):
// every SQL statement on `customers`, and the only place that locks a customer's row.
//
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
    ${insertEventsSql('$2', 'e.customer_id IN (SELECT id FROM inserted)')}
  )
  SELECT id FROM inserted`;

const UPDATE_SQL = `
  WITH updated AS (
    UPDATE customers c SET updated_at = u.updated_at, ${COLUMNS.map((c) => `${COLUMN_NAMES[c]} = ${valueOf(c)}`).join(', ')}
    FROM jsonb_to_recordset($1::jsonb) AS u(id text, updated_at timestamptz, ${recordDefinition})
    WHERE c.id = u.id
    RETURNING c.id
  ), recorded AS (
    ${insertEventsSql('$2', 'e.customer_id IN (SELECT id FROM updated)')}
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
function customerFromRow(row: Record<string, unknown>): Customer {
  return Object.fromEntries(Object.entries(row).map(([column, value]) => [camel(column), value])) as Customer;
}

function recordOf(customer: Customer): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const column of COLUMNS) record[COLUMN_NAMES[column]] = customer[column];
  return record;
}

/** Customers that still exist for their merchant: `deleting` ones included, deleted ones not. */
const present = (scope: Scope) => ({ merchantId: scope.merchantId, environment: scope.environment, deletedAt: null });

/**
 * The customer a new billing object is for, share-locked until the caller's transaction commits:
 * a concurrent DELETE (which takes the row's update lock) waits for the write, and the write
 * waits for a DELETE in progress and then sees the customer `deleting`. Undefined when the tenant
 * has no live customer with this id. A function, not a method: billing's transactions call it.
 */
export async function lockCustomerForShare(tx: DbTx, scope: Scope, customerId: string): Promise<Customer | undefined> {
  await tx.$executeRaw`
    SELECT 1 FROM customers
    WHERE id = ${customerId} AND merchant_id = ${scope.merchantId} AND environment = ${scope.environment}::"Environment"
    FOR SHARE`;
  const customer = await tx.customer.findFirst({
    where: { id: customerId, merchantId: scope.merchantId, environment: scope.environment, deletedAt: null },
  });
  return customer ?? undefined;
}

export class CustomerStore {
  /** `pool`: plain SQL for the hottest paths (read by id, create without Idempotency-Key). */
  constructor(private readonly deps: { db: Db; pool: SqlPool }) {}

  /** A live (deleting included) customer of the tenant by id, in one plain query. */
  async find(scope: Scope, id: string, target: SqlTarget = this.deps.pool): Promise<Customer | undefined> {
    const [row] = await runSql<Record<string, unknown>>(
      target,
      'SELECT * FROM customers WHERE id = $1 AND merchant_id = $2 AND environment = $3::"Environment" AND deleted_at IS NULL',
      [id, scope.merchantId, scope.environment],
    );
    return row && customerFromRow(row);
  }

  /**
   * Inserts new customers, with the events of those inserted, in one statement (atomic without a
   * transaction: on the pool unless `tx` is given). A row that clashes with a live customer on a
   * unique key (external key, email) is skipped, not an error: its id is missing from the result
   * and the caller decides what the clash means.
   */
  async insert(scope: Scope, rows: Customer[], events: NewEvent[], tx?: DbTx): Promise<Set<string>> {
    if (rows.length === 0) return new Set();
    const at = rows[0]!.createdAt;
    const customers = rows.map((row) => ({
      id: row.id,
      merchant_id: scope.merchantId,
      environment: scope.environment,
      created_at: row.createdAt,
      ...recordOf(row),
    }));
    const inserted = await runSql<{ id: string }>(tx ?? this.deps.pool, INSERT_SQL, [
      JSON.stringify(customers),
      JSON.stringify(eventRows(scope, events, at)),
    ]);
    return new Set(inserted.map((row) => row.id));
  }

  /** Writes the given columns of existing customers (locked by the caller), with their events. */
  async update(tx: DbTx, scope: Scope, rows: Customer[], events: NewEvent[]): Promise<void> {
    if (rows.length === 0) return;
    const at = rows[0]!.updatedAt;
    const customers = rows.map((row) => ({ id: row.id, updated_at: row.updatedAt, ...recordOf(row) }));
    await runSql(tx, UPDATE_SQL, [JSON.stringify(customers), JSON.stringify(eventRows(scope, events, at))]);
  }

  /** Live customers of a tenant with these ids, locked for the rest of the transaction. */
  async lock(tx: DbTx, scope: Scope, ids: string[]): Promise<Customer[]> {
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
  async lockByExternalKeys(tx: DbTx, scope: Scope, keys: { source: string; externalId: string }[]): Promise<Customer[]> {
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
  async byEmail(scope: Scope, emails: string[], tx: Db | DbTx = this.deps.db): Promise<{ id: string; email: string }[]> {
    if (emails.length === 0) return [];
    return tx.$queryRaw<{ id: string; email: string }[]>`
      SELECT id, lower(email) AS email FROM customers
      WHERE merchant_id = ${scope.merchantId} AND environment = ${scope.environment}::"Environment" AND deleted_at IS NULL
        AND email IS NOT NULL AND lower(email) = ANY(${emails.map((email) => email.toLowerCase())})`;
  }

  /** The id of another present customer of the tenant holding this external key, if any. */
  async holderOfExternalKey(
    scope: Scope,
    key: { externalId: string; externalSource: string | null },
    exceptId: string,
    tx: Db | DbTx = this.deps.db,
  ): Promise<string | undefined> {
    const holder = await tx.customer.findFirst({
      where: { ...present(scope), id: { not: exceptId }, externalId: key.externalId, externalSource: key.externalSource },
      select: { id: true },
    });
    return holder?.id;
  }

  /** One page of the tenant's listed (active) customers matching the query's filters. */
  async list<Out>(scope: Scope, query: ListCustomersQuery, serialize: (customer: Customer) => Out): Promise<Page<Out>> {
    const filters: Prisma.CustomerWhereInput = {
      ...(query.external_id !== undefined && { externalId: query.external_id }),
      ...(query.external_source !== undefined && { externalSource: query.external_source }),
      ...(query.email !== undefined && { id: { in: (await this.byEmail(scope, [query.email])).map((row) => row.id) } }),
      ...(query.tag !== undefined && { tags: { has: query.tag } }),
      ...((query['created[gte]'] || query['created[lte]']) && {
        createdAt: { gte: query['created[gte]'], lte: query['created[lte]'] },
      }),
    };
    const where: Prisma.CustomerWhereInput = { ...present(scope), status: 'active', ...filters };
    // Unfiltered, the list is every listed customer: the trigger-kept count knows how many.
    const total = Object.keys(filters).length > 0 ? undefined : () => this.listedCount(scope);
    return paginate(this.deps.db.customer, where, query, serialize, total);
  }

  /** The customer's lifetime values, one row per currency. */
  async statsOf(customerId: string): Promise<CustomerStats[]> {
    return this.deps.db.customerStats.findMany({ where: { customerId }, orderBy: { currency: 'asc' } });
  }

  /**
   * The number of listed customers (active, not deleted) of a tenant: the sum of the deltas the
   * customer_counts triggers wrote, which housekeeping keeps to a few rows per tenant.
   */
  async listedCount(scope: Scope): Promise<number> {
    const [row] = await this.deps.db.$queryRaw<{ total: bigint | null }[]>`
      SELECT sum(delta)::bigint AS total FROM customer_counts
      WHERE merchant_id = ${scope.merchantId} AND environment = ${scope.environment}::"Environment"`;
    return Number(row?.total ?? 0);
  }

  /**
   * Folds each tenant's customer-count deltas into one row. Safe beside writers: the delete takes
   * only the rows its statement sees, and a delta committed meanwhile stays for the next fold.
   * Returns how many tenants were folded.
   */
  async compactCounts(): Promise<number> {
    return this.deps.db.$executeRaw`
      WITH folded AS (
        DELETE FROM customer_counts
        WHERE (merchant_id, environment) IN (SELECT merchant_id, environment FROM customer_counts GROUP BY 1, 2 HAVING count(*) > 1)
        RETURNING merchant_id, environment, delta)
      INSERT INTO customer_counts (merchant_id, environment, delta)
      SELECT merchant_id, environment, sum(delta) FROM folded GROUP BY 1, 2`;
  }

  // --- The deletion and the erasure of a customer -----------------------------------------------

  /**
   * The tenant's customer (deleted ones included) with its deletion, its row locked for update
   * first: concurrent DELETEs take turns, and a billing write in progress is waited for.
   */
  async lockWithDeletion(tx: DbTx, scope: Scope, customerId: string): Promise<(Customer & { deletion: CustomerDeletion | null }) | null> {
    await this.lockRow(tx, customerId);
    return tx.customer.findFirst({
      where: { id: customerId, merchantId: scope.merchantId, environment: scope.environment },
      include: { deletion: true },
    });
  }

  /** The customer by id alone (the deletion saga's steps know no tenant), its row locked for update. */
  async lockById(tx: DbTx, customerId: string): Promise<Customer | null> {
    await this.lockRow(tx, customerId);
    return tx.customer.findUnique({ where: { id: customerId } });
  }

  /** The customer by id alone; throws when there is none. */
  async byId(tx: DbTx, customerId: string): Promise<Customer> {
    return tx.customer.findUniqueOrThrow({ where: { id: customerId } });
  }

  /** The customer leaves the lists and takes no new writes: its deletion has begun. */
  async markDeleting(tx: DbTx, customerId: string): Promise<void> {
    await tx.customer.update({ where: { id: customerId }, data: { status: 'deleting' } });
  }

  /** The customer is gone: its external_id and email are free again. Returns the deleted row. */
  async markDeleted(tx: DbTx, customerId: string): Promise<Customer> {
    return tx.customer.update({ where: { id: customerId }, data: { status: 'deleted', deletedAt: new Date() } });
  }

  /** The customer row's personal fields cleared, `erased_at` set once. Returns the rows changed (0 or 1). */
  async eraseProfile(tx: DbTx, customerId: string): Promise<number> {
    return tx.$executeRaw`
      UPDATE customers
      SET external_id = NULL, email = NULL, phone = NULL, name = NULL, metadata = '{}',
          address_line1 = NULL, address_line2 = NULL, address_city = NULL, address_state = NULL,
          address_postal_code = NULL, address_country = NULL, company_name = NULL, tax_id = NULL,
          description = NULL, erased_at = COALESCE(erased_at, now()), updated_at = now()
      WHERE id = ${customerId} AND erased_at IS NULL`;
  }

  private async lockRow(tx: DbTx, customerId: string): Promise<void> {
    await tx.$executeRaw`SELECT 1 FROM customers WHERE id = ${customerId} FOR UPDATE`;
  }
}
