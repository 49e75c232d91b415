import { customersWithBillingObjects } from '../billing/billing.store.js';
import { isUniqueViolation, type Db, type DbTx } from '../db.js';
import type { Customer } from '../generated/prisma/client.js';
import { ApiError, ConflictError, NotFoundError, ValidationError, type FieldError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import type { Page } from '../lib/pagination.js';
import type { Scope, WriteContext } from '../lib/scope.js';
import { toFieldErrors, unstorableStrings } from '../lib/validation.js';
import type { Logger } from '../logger.js';
import {
  BatchUpsertItem,
  type CreateCustomerBody,
  type CustomerObject,
  type ListCustomersQuery,
  type UpdateCustomerBody,
} from './customer.schemas.js';
import { serializeCustomer, serializeCustomerStats } from './customer.serializer.js';
import { applyProfile, buildCustomer, changeEvents, emptyColumns, MAX_TAGS, type ProfileInput } from './customer.profile.js';
import type { CustomerStore, SqlTarget } from './customer.store.js';

export interface UpsertOutcome {
  data: CustomerObject;
  created: boolean;
  warnings: FieldError[];
}

export type BatchItemResult =
  | { index: number; status: 'created' | 'updated'; data: CustomerObject; warnings: FieldError[] }
  | { index: number; status: 'error'; error: { type: string; message: string; param?: string } };

export interface BatchResult {
  object: 'batch_result';
  created: number;
  updated: number;
  failed: number;
  results: BatchItemResult[];
}

/** One item of an upsert: the identity pair and the profile fields to set. */
interface UpsertItem {
  index: number;
  source: string;
  externalId: string;
  profile: ProfileInput;
}

function asItemError(error: unknown): { type: string; message: string; param?: string } {
  const apiError = error instanceof ApiError ? error : undefined;
  return {
    type: apiError?.type ?? 'internal',
    message: apiError?.message ?? 'Internal error',
    ...(apiError?.param !== undefined && { param: apiError.param }),
  };
}

export class CustomerService {
  /** `db` opens the transactions of writes; the store runs their statements. */
  constructor(private readonly deps: { db: Db; store: CustomerStore; logger: Logger }) {}

  async create(write: WriteContext<CustomerObject>, body: CreateCustomerBody): Promise<CustomerObject> {
    if (body.external_source && !body.external_id) {
      throw ValidationError.field('external_source', 'external_source needs an external_id');
    }
    const now = new Date();
    const row = buildCustomer(write, newId('customer'), now, {
      ...applyProfile(emptyColumns(), body),
      externalId: body.external_id ?? null,
      externalSource: body.external_source ?? null,
    });
    const events = changeEvents('customer.created', [], row);
    const result = serializeCustomer(row);
    const { commitReply } = write;
    if (!commitReply) {
      // The customer and its events in one statement: atomic without an explicit transaction.
      const inserted = await this.deps.store.insert(write, [row], events);
      if (!inserted.has(row.id)) await this.explainClash(this.deps.db, write, row);
      return result;
    }
    return this.transaction(async (tx) => {
      const inserted = await this.deps.store.insert(write, [row], events, tx);
      if (!inserted.has(row.id)) await this.explainClash(tx, write, row);
      await commitReply(tx, result);
      return result;
    });
  }

  async get(scope: Scope, id: string, options: { expandStats?: boolean } = {}): Promise<CustomerObject> {
    const customer = await this.deps.store.find(scope, id);
    if (!customer) throw new NotFoundError('customer', id, 'id');
    const stats = options.expandStats ? serializeCustomerStats(await this.deps.store.statsOf(customer.id)) : undefined;
    return serializeCustomer(customer, stats);
  }

  async list(scope: Scope, query: ListCustomersQuery): Promise<Page<CustomerObject>> {
    if (query.external_source !== undefined && query.external_id === undefined) {
      throw ValidationError.field('external_source', 'external_source filters together with external_id');
    }
    return this.deps.store.list(scope, query, (row) => serializeCustomer(row));
  }

  /** Housekeeping: folds each tenant's customer-count deltas into one row. */
  async compactCounts(): Promise<number> {
    return this.deps.store.compactCounts();
  }

  async update(write: WriteContext<CustomerObject>, id: string, body: UpdateCustomerBody): Promise<CustomerObject> {
    return this.transaction(async (tx) => {
      const current = await this.lockForChange(tx, write, id);
      const externalIdChanges = body.external_id !== undefined && body.external_id !== current.externalId;
      const sourceChanges = body.external_source !== undefined && body.external_source !== current.externalSource;
      const currencyChanges = body.currency !== undefined && body.currency !== current.currency;
      if ((externalIdChanges || sourceChanges || currencyChanges) && (await customersWithBillingObjects(tx, [current.id])).size > 0) {
        const param = externalIdChanges ? 'external_id' : sourceChanges ? 'external_source' : 'currency';
        throw new ConflictError(`${param} cannot change once the customer has billing objects`, param, {
          customer_id: current.id,
        });
      }
      const next: Customer = {
        ...current,
        ...(body.external_id !== undefined && { externalId: body.external_id }),
        ...(body.external_source !== undefined && { externalSource: body.external_source }),
        ...applyProfile(current, body),
        updatedAt: new Date(),
      };
      if (next.externalSource && !next.externalId) {
        throw ValidationError.field('external_source', 'external_source needs an external_id');
      }
      await this.assertAvailable(tx, write, next);
      await this.deps.store.update(tx, write, [next], changeEvents('customer.updated', current.tags, next));
      const result = serializeCustomer(next);
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  async addTags(write: WriteContext<CustomerObject>, id: string, tags: string[]): Promise<CustomerObject> {
    return this.changeTags(write, id, (current) => [...current, ...tags]);
  }

  async removeTag(write: WriteContext<CustomerObject>, id: string, tag: string): Promise<CustomerObject> {
    return this.changeTags(write, id, (current) => current.filter((t) => t !== tag));
  }

  /**
   * Creates or updates the live customer identified by (source, external id). A field that may not
   * change (currency once billing objects exist) is kept and reported as a warning.
   */
  async upsertByExternalId(
    write: WriteContext<UpsertOutcome>,
    source: string,
    externalId: string,
    profile: ProfileInput,
  ): Promise<UpsertOutcome> {
    return this.transaction(async (tx) => {
      const [result] = await this.upsertItems(tx, write, [{ index: 0, source, externalId, profile }]);
      if (result!.status === 'error') throw result!.failure;
      const outcome = { data: result!.data, created: result!.status === 'created', warnings: result!.warnings };
      await write.commitReply?.(tx, outcome);
      return outcome;
    });
  }

  /**
   * Each item is validated and judged on its own (one bad item never blocks the others), then all
   * the good ones are written set-based: one insert and one update statement for the batch.
   */
  async batchUpsert(write: WriteContext<BatchResult>, items: unknown[]): Promise<BatchResult> {
    const results = new Array<BatchItemResult>(items.length);
    const valid: UpsertItem[] = [];
    const seen = new Map<string, number>();
    for (const [index, raw] of items.entries()) {
      const prefix = `items.${index}`;
      const unstorable = unstorableStrings(raw, prefix);
      const parsed = unstorable.length === 0 ? BatchUpsertItem.safeParse(raw) : undefined;
      if (!parsed?.success) {
        const errors = parsed ? toFieldErrors(parsed.error, prefix) : unstorable;
        results[index] = { index, status: 'error', error: asItemError(new ValidationError(errors)) };
        continue;
      }
      const { source, external_id: externalId, ...profile } = parsed.data;
      const key = `${source}\u0000${externalId}`;
      const first = seen.get(key);
      if (first !== undefined) {
        const error = ValidationError.field(`${prefix}.external_id`, `items.${first} has the same source and external_id`);
        results[index] = { index, status: 'error', error: asItemError(error) };
        continue;
      }
      seen.set(key, index);
      valid.push({ index, source, externalId, profile });
    }
    const written = await this.transaction((tx) => this.upsertItems(tx, write, valid));
    for (const result of written) {
      results[result.index] =
        result.status === 'error'
          ? { index: result.index, status: 'error', error: asItemError(result.failure) }
          : { index: result.index, status: result.status, data: result.data, warnings: result.warnings };
    }
    const count = (status: string) => results.filter((result) => result.status === status).length;
    return { object: 'batch_result', created: count('created'), updated: count('updated'), failed: count('error'), results };
  }

  /** The customer as the given scope sees it; anything else is "not found", never "forbidden". */
  async find(target: SqlTarget, scope: Scope, id: string): Promise<Customer> {
    const customer = await this.deps.store.find(scope, id, target);
    if (!customer) throw new NotFoundError('customer', id, 'id');
    return customer;
  }

  /**
   * The set-based core of every upsert. Existing customers are locked (so a concurrent DELETE
   * either waits for this write or is seen here as `deleting`, and is never overwritten), new ones
   * are inserted; a key inserted concurrently by another request is found on the next round and
   * updated instead.
   */
  private async upsertItems(
    tx: DbTx,
    scope: Scope,
    items: UpsertItem[],
  ): Promise<
    (
      | { index: number; status: 'created' | 'updated'; data: CustomerObject; warnings: FieldError[] }
      | { index: number; status: 'error'; failure: ApiError }
    )[]
  > {
    type Outcome = Awaited<ReturnType<CustomerService['upsertItems']>>[number];
    const outcomes: Outcome[] = [];
    let pending = items;
    for (let round = 0; pending.length > 0 && round < 3; round++) {
      const now = new Date();
      const existing = await this.deps.store.lockByExternalKeys(
        tx,
        scope,
        pending.map((item) => ({ source: item.source, externalId: item.externalId })),
      );
      const byKey = new Map(existing.map((customer) => [`${customer.externalSource}\u0000${customer.externalId}`, customer]));
      const pinned = await customersWithBillingObjects(tx, existing.map((customer) => customer.id));
      const inserts: { item: UpsertItem; row: Customer }[] = [];
      const updates: { item: UpsertItem; before: Customer; row: Customer; warnings: FieldError[] }[] = [];
      for (const item of pending) {
        const current = byKey.get(`${item.source}\u0000${item.externalId}`);
        if (!current) {
          const row = buildCustomer(scope, newId('customer'), now, {
            ...applyProfile(emptyColumns(), item.profile),
            externalId: item.externalId,
            externalSource: item.source,
          });
          inserts.push({ item, row });
          continue;
        }
        if (current.status !== 'active') {
          outcomes.push({
            index: item.index,
            status: 'error',
            failure: new ConflictError(`Customer ${current.id} is being deleted`, 'external_id', { customer_id: current.id }),
          });
          continue;
        }
        const warnings: FieldError[] = [];
        const profile = { ...item.profile };
        if (profile.currency !== undefined && profile.currency !== current.currency && pinned.has(current.id)) {
          warnings.push({
            param: 'currency',
            message: `currency cannot change once the customer has billing objects; kept ${current.currency}`,
          });
          delete profile.currency;
        }
        updates.push({ item, before: current, row: { ...current, ...applyProfile(current, profile), updatedAt: now }, warnings });
      }
      const clashes = await this.emailClashes(tx, scope, [...inserts, ...updates].map(({ item, row }) => ({ item, row })));
      const writableInserts = inserts.filter(({ item }) => !clashes.has(item.index));
      const writableUpdates = updates.filter(({ item }) => !clashes.has(item.index));
      for (const [index, failure] of clashes) outcomes.push({ index, status: 'error', failure });

      await this.deps.store.update(
        tx,
        scope,
        writableUpdates.map((update) => update.row),
        writableUpdates.flatMap((update) => changeEvents('customer.updated', update.before.tags, update.row)),
      );
      for (const update of writableUpdates) {
        outcomes.push({ index: update.item.index, status: 'updated', data: serializeCustomer(update.row), warnings: update.warnings });
      }
      const inserted = await this.deps.store.insert(
        scope,
        writableInserts.map((insert) => insert.row),
        writableInserts.flatMap((insert) => changeEvents('customer.created', [], insert.row)),
        tx,
      );
      for (const insert of writableInserts.filter(({ row }) => inserted.has(row.id))) {
        outcomes.push({ index: insert.item.index, status: 'created', data: serializeCustomer(insert.row), warnings: [] });
      }
      // Not inserted: another request created the same key (or took the email) meanwhile.
      pending = writableInserts.filter(({ row }) => !inserted.has(row.id)).map(({ item }) => item);
    }
    for (const item of pending) {
      outcomes.push({ index: item.index, status: 'error', failure: new ConflictError('A concurrent request wrote a conflicting customer') });
    }
    return outcomes.sort((a, b) => a.index - b.index);
  }

  /**
   * Emails already held by another live customer, or claimed twice within the batch (the later
   * item loses), as per-item conflicts.
   */
  private async emailClashes(tx: DbTx, scope: Scope, writes: { item: UpsertItem; row: Customer }[]): Promise<Map<number, ApiError>> {
    const clashes = new Map<number, ApiError>();
    const withEmail = writes.filter(({ row }) => row.email !== null);
    const holders = await this.deps.store.byEmail(scope, withEmail.map(({ row }) => row.email!), tx);
    const holderOf = new Map(holders.map((holder) => [holder.email, holder.id]));
    const claimedBy = new Map<string, string>();
    for (const { item, row } of withEmail) {
      const email = row.email!.toLowerCase();
      const holder = holderOf.get(email);
      const other = holder !== undefined && holder !== row.id ? holder : claimedBy.get(email);
      if (other !== undefined && other !== row.id) {
        clashes.set(item.index, new ConflictError(`A customer with email '${row.email}' already exists: ${other}`, 'email', { customer_id: other }));
      } else {
        claimedBy.set(email, row.id);
      }
    }
    return clashes;
  }

  private async changeTags(write: WriteContext<CustomerObject>, id: string, next: (tags: string[]) => string[]): Promise<CustomerObject> {
    return this.transaction(async (tx) => {
      const current = await this.lockForChange(tx, write, id);
      const tags = [...new Set(next(current.tags))];
      if (tags.length > MAX_TAGS) throw ValidationError.field('tags', `a customer holds at most ${MAX_TAGS} tags`);
      let result = current;
      if (tags.length !== current.tags.length || tags.some((t, i) => t !== current.tags[i])) {
        result = { ...current, tags, updatedAt: new Date() };
        await this.deps.store.update(tx, write, [result], changeEvents('customer.updated', current.tags, result));
      }
      const object = serializeCustomer(result);
      await write.commitReply?.(tx, object);
      return object;
    });
  }

  /** Locks the row so concurrent merges of metadata or tags cannot lose each other's keys. */
  private async lockForChange(tx: DbTx, scope: Scope, id: string): Promise<Customer> {
    const [customer] = await this.deps.store.lock(tx, scope, [id]);
    if (!customer) throw new NotFoundError('customer', id, 'id');
    if (customer.status !== 'active') {
      throw new ConflictError(`Customer ${customer.id} is being deleted and cannot change`, 'id', {
        customer_id: customer.id,
      });
    }
    return customer;
  }

  /** A create whose insert was skipped clashed with a live customer: say on what, and with whom. */
  private async explainClash(tx: DbTx | Db, scope: Scope, row: Customer): Promise<never> {
    await this.assertAvailable(tx, scope, row);
    throw new ConflictError('A concurrent request wrote a conflicting customer');
  }

  private async assertAvailable(tx: DbTx | Db, scope: Scope, row: Customer): Promise<void> {
    if (row.externalId) {
      const clash = await this.deps.store.holderOfExternalKey(scope, { externalId: row.externalId, externalSource: row.externalSource }, row.id, tx);
      if (clash) {
        const from = row.externalSource ? ` from source '${row.externalSource}'` : '';
        throw new ConflictError(`A customer with external_id '${row.externalId}'${from} already exists: ${clash}`, 'external_id', {
          customer_id: clash,
        });
      }
    }
    if (row.email) {
      // lower(email) = lower(...) as the live-email unique index reads it; ILIKE would scan every customer.
      const clash = (await this.deps.store.byEmail(scope, [row.email], tx)).find((other) => other.id !== row.id);
      if (clash) {
        throw new ConflictError(`A customer with email '${row.email}' already exists: ${clash.id}`, 'email', {
          customer_id: clash.id,
        });
      }
    }
  }

  /**
   * One transaction. A unique index lost to a concurrent writer aborts it; running the change once
   * more lets its checks report the clash as a 409 naming the field and the existing customer.
   */
  private async transaction<T>(change: (tx: DbTx) => Promise<T>, attempt = 1): Promise<T> {
    try {
      return await this.deps.db.$transaction(change);
    } catch (error) {
      if (isUniqueViolation(error) && attempt === 1) return this.transaction(change, attempt + 1);
      if (isUniqueViolation(error)) throw new ConflictError('A concurrent request wrote a conflicting customer');
      throw error;
    }
  }
}
