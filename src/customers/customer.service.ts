import type { Customer } from '../generated/prisma/client';
import { Prisma, isUniqueViolation, type Db, type DbTx } from '../db';
import { EventDispatcher, recordEvent, type EventType } from '../events/event.service';
import { ApiError, ConflictError, NotFoundError, ValidationError, type FieldError } from '../lib/errors';
import { newId } from '../lib/ids';
import { minorUnitsToDecimal } from '../lib/money';
import type { Scope } from '../lib/scope';
import { parseInput } from '../lib/validation';
import type { Logger } from '../logger';
import { paginate, type Page } from '../http/pagination';
import {
  BatchUpsertItem,
  type CreateCustomerBody,
  type CustomerObject,
  type ListCustomersQuery,
  type UpdateCustomerBody,
  type UpsertCustomerBody,
} from './customer.schemas';
import { serializeCustomer } from './customer.serializer';

type ProfileInput = UpsertCustomerBody;
type Metadata = Record<string, string | number | boolean | null>;
const MAX_METADATA_KEYS = 50;

export interface UpsertOutcome {
  data: CustomerObject;
  created: boolean;
  warnings: FieldError[];
}

export type BatchItemResult =
  | { index: number; status: 'created' | 'updated'; data: CustomerObject; warnings: FieldError[] }
  | { index: number; status: 'error'; error: { type: string; message: string; param?: string } };

type Emit = (type: EventType, customer: Customer) => Promise<void>;

/**
 * Case-insensitive email equality. Prisma runs `mode: 'insensitive'` as ILIKE, where `_` and `%`
 * are wildcards and both are legal in an address, so they are escaped to match literally.
 */
const sameEmail = (email: string) => ({ equals: email.replace(/[\\%_]/g, '\\$&'), mode: 'insensitive' as const });

/** Customers that still exist for their merchant: `deleting` ones included, deleted ones not. */
const present = (scope: Scope) => ({ merchantId: scope.merchantId, environment: scope.environment, deletedAt: null });

export class CustomerService {
  constructor(private readonly deps: { db: Db; events: EventDispatcher; logger: Logger }) {}

  async create(scope: Scope, body: CreateCustomerBody): Promise<CustomerObject> {
    if (body.external_source && !body.external_id) {
      throw ValidationError.field('external_source', 'external_source needs an external_id');
    }
    const customer = await this.write(scope, async (tx, emit) => {
      await this.assertAvailable(tx, scope, { externalId: body.external_id, email: body.email });
      const created = await tx.customer.create({
        data: {
          id: newId('customer'),
          merchantId: scope.merchantId,
          environment: scope.environment,
          externalId: body.external_id ?? null,
          externalSource: body.external_source ?? null,
          ...profileColumns(body),
          metadata: mergeMetadata({}, body.metadata ?? {}),
        },
      });
      await emit('customer.created', created);
      return created;
    });
    return serializeCustomer(customer);
  }

  async get(scope: Scope, id: string, options: { expandStats?: boolean } = {}): Promise<CustomerObject> {
    const customer = await this.find(this.deps.db, scope, id);
    return serializeCustomer(customer, options.expandStats ? await this.stats(customer.id) : undefined);
  }

  async list(scope: Scope, query: ListCustomersQuery): Promise<Page<CustomerObject>> {
    const where: Prisma.CustomerWhereInput = {
      ...present(scope),
      status: 'active',
      ...(query.external_id !== undefined && { externalId: query.external_id }),
      ...(query.email !== undefined && { email: sameEmail(query.email) }),
      ...(query.tag !== undefined && { tags: { has: query.tag } }),
      ...((query['created[gte]'] || query['created[lte]']) && {
        createdAt: { gte: query['created[gte]'], lte: query['created[lte]'] },
      }),
    };
    return paginate(this.deps.db.customer, where, query, (row) => serializeCustomer(row));
  }

  async update(scope: Scope, id: string, body: UpdateCustomerBody): Promise<CustomerObject> {
    const customer = await this.write(scope, async (tx, emit) => {
      const current = await this.lockForChange(tx, scope, id);
      const externalIdChanges = body.external_id !== undefined && body.external_id !== current.externalId;
      const currencyChanges = body.currency !== undefined && body.currency !== current.currency;
      if ((externalIdChanges || currencyChanges) && (await hasBillingObjects(tx, current.id))) {
        const param = externalIdChanges ? 'external_id' : 'currency';
        throw new ConflictError(`${param} cannot change once the customer has billing objects`, param, {
          customer_id: current.id,
        });
      }
      if (externalIdChanges || (body.email !== undefined && body.email !== current.email)) {
        await this.assertAvailable(tx, scope, {
          externalId: externalIdChanges ? body.external_id : undefined,
          email: body.email,
          exceptId: current.id,
        });
      }
      const updated = await tx.customer.update({
        where: { id: current.id },
        data: {
          ...(body.external_id !== undefined && { externalId: body.external_id }),
          ...(body.external_source !== undefined && { externalSource: body.external_source }),
          ...profileColumns(body),
          ...(body.metadata != null && { metadata: mergeMetadata(current.metadata as Metadata, body.metadata) }),
          ...(body.metadata === null && { metadata: {} }),
        },
      });
      await emit('customer.updated', updated);
      return updated;
    });
    return serializeCustomer(customer);
  }

  async addTags(scope: Scope, id: string, tags: string[]): Promise<CustomerObject> {
    return this.changeTags(scope, id, (current) => [...current, ...tags]);
  }

  async removeTag(scope: Scope, id: string, tag: string): Promise<CustomerObject> {
    return this.changeTags(scope, id, (current) => current.filter((t) => t !== tag));
  }

  /**
   * Creates or updates the live customer with this external id. A field that may not change
   * (currency once billing objects exist) is kept and reported as a warning instead of failing.
   */
  async upsertByExternalId(
    scope: Scope,
    source: string,
    externalId: string,
    body: ProfileInput,
  ): Promise<UpsertOutcome> {
    const warnings: FieldError[] = [];
    let created = false;
    const customer = await this.write(scope, async (tx, emit) => {
      warnings.length = 0;
      created = false;
      // Serializes concurrent upserts of one external id, which would otherwise both insert.
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`${scope.merchantId}:${scope.environment}:${externalId}`}, 0))`;
      const existing = await tx.customer.findFirst({ where: { ...present(scope), externalId } });
      if (!existing) {
        await this.assertAvailable(tx, scope, { email: body.email });
        created = true;
        const row = await tx.customer.create({
          data: {
            id: newId('customer'),
            merchantId: scope.merchantId,
            environment: scope.environment,
            externalId,
            externalSource: source,
            ...profileColumns(body),
            metadata: mergeMetadata({}, body.metadata ?? {}),
          },
        });
        await emit('customer.created', row);
        return row;
      }
      if (existing.status !== 'active') {
        throw new ConflictError(`Customer ${existing.id} is being deleted`, 'external_id', { customer_id: existing.id });
      }
      if (existing.externalSource !== null && existing.externalSource !== source) {
        throw new ConflictError(
          `external_id '${externalId}' belongs to a customer from source '${existing.externalSource}'`,
          'external_id',
          { customer_id: existing.id },
        );
      }
      const changes = { ...body };
      if (changes.currency !== undefined && changes.currency !== existing.currency && (await hasBillingObjects(tx, existing.id))) {
        warnings.push({
          param: 'currency',
          message: `currency cannot change once the customer has billing objects; kept ${existing.currency}`,
        });
        delete changes.currency;
      }
      if (changes.email !== undefined && changes.email !== existing.email) {
        await this.assertAvailable(tx, scope, { email: changes.email, exceptId: existing.id });
      }
      const row = await tx.customer.update({
        where: { id: existing.id },
        data: {
          externalSource: source,
          ...profileColumns(changes),
          ...(changes.metadata != null && { metadata: mergeMetadata(existing.metadata as Metadata, changes.metadata) }),
          ...(changes.metadata === null && { metadata: {} }),
        },
      });
      await emit('customer.updated', row);
      return row;
    });
    return { data: serializeCustomer(customer), created, warnings };
  }

  /** Each item is validated and written on its own: one bad item never blocks the others. */
  async batchUpsert(scope: Scope, items: unknown[]): Promise<BatchItemResult[]> {
    const results: BatchItemResult[] = [];
    for (const [index, raw] of items.entries()) {
      try {
        const { source, external_id: externalId, ...profile } = parseInput(BatchUpsertItem, raw, `items.${index}`);
        const outcome = await this.upsertByExternalId(scope, source, externalId, profile);
        results.push({ index, status: outcome.created ? 'created' : 'updated', data: outcome.data, warnings: outcome.warnings });
      } catch (error) {
        if (!(error instanceof ApiError)) {
          this.deps.logger.error({ err: error, index }, 'batch upsert item failed unexpectedly');
        }
        const apiError = error instanceof ApiError ? error : undefined;
        results.push({
          index,
          status: 'error',
          error: {
            type: apiError?.type ?? 'internal',
            message: apiError?.message ?? 'Internal error',
            ...(apiError?.param !== undefined && { param: apiError.param }),
          },
        });
      }
    }
    return results;
  }

  /** The customer as the given scope sees it; anything else is "not found", never "forbidden". */
  async find(tx: DbTx | Db, scope: Scope, id: string): Promise<Customer> {
    const customer = await tx.customer.findFirst({ where: { ...present(scope), id } });
    if (!customer) throw new NotFoundError('customer', id, 'id');
    return customer;
  }

  private async changeTags(scope: Scope, id: string, next: (tags: string[]) => string[]): Promise<CustomerObject> {
    const customer = await this.write(scope, async (tx, emit) => {
      const current = await this.lockForChange(tx, scope, id);
      const tags = [...new Set(next(current.tags))];
      if (tags.length > 100) throw ValidationError.field('tags', 'a customer holds at most 100 tags');
      if (tags.length === current.tags.length && tags.every((t, i) => t === current.tags[i])) return current;
      const updated = await tx.customer.update({ where: { id: current.id }, data: { tags } });
      await emit('customer.updated', updated);
      return updated;
    });
    return serializeCustomer(customer);
  }

  /** Locks the row so concurrent merges of metadata or tags cannot lose each other's keys. */
  private async lockForChange(tx: DbTx, scope: Scope, id: string): Promise<Customer> {
    await tx.$executeRaw`SELECT 1 FROM customers WHERE id = ${id} FOR UPDATE`;
    const customer = await this.find(tx, scope, id);
    if (customer.status !== 'active') {
      throw new ConflictError(`Customer ${customer.id} is being deleted and cannot change`, 'id', {
        customer_id: customer.id,
      });
    }
    return customer;
  }

  private async assertAvailable(
    tx: DbTx | Db,
    scope: Scope,
    fields: { externalId?: string | null; email?: string | null; exceptId?: string },
  ): Promise<void> {
    const others = { ...present(scope), ...(fields.exceptId && { id: { not: fields.exceptId } }) };
    if (fields.externalId) {
      const clash = await tx.customer.findFirst({ where: { ...others, externalId: fields.externalId }, select: { id: true } });
      if (clash) {
        throw new ConflictError(`A customer with external_id '${fields.externalId}' already exists: ${clash.id}`, 'external_id', {
          customer_id: clash.id,
        });
      }
    }
    if (fields.email) {
      const clash = await tx.customer.findFirst({
        where: { ...others, email: sameEmail(fields.email) },
        select: { id: true },
      });
      if (clash) {
        throw new ConflictError(`A customer with email '${fields.email}' already exists: ${clash.id}`, 'email', {
          customer_id: clash.id,
        });
      }
    }
  }

  /**
   * Runs a change in one transaction with the events it emits, then hands the events to Temporal.
   * A unique index lost to a concurrent writer aborts the transaction; running the change once more
   * lets its pre-check report the clash as a 409 naming the field and the existing customer.
   */
  private async write<T>(scope: Scope, change: (tx: DbTx, emit: Emit) => Promise<T>, attempt = 1): Promise<T> {
    const eventIds: string[] = [];
    let result: T;
    try {
      result = await this.deps.db.$transaction(async (tx) =>
        change(tx, async (type, customer) => {
          eventIds.push(await recordEvent(tx, scope, type, serializeCustomer(customer)));
        }),
      );
    } catch (error) {
      if (isUniqueViolation(error) && attempt === 1) return this.write(scope, change, attempt + 1);
      if (isUniqueViolation(error)) throw new ConflictError('A concurrent request wrote a conflicting customer');
      throw error;
    }
    this.deps.events.dispatchInBackground(eventIds);
    return result;
  }

  private async stats(customerId: string): Promise<NonNullable<CustomerObject['stats']>> {
    const { db } = this.deps;
    const [invoiceCount, payments] = await Promise.all([
      db.invoice.count({ where: { customerId } }),
      db.payment.groupBy({
        by: ['currency'],
        where: { customerId, status: 'succeeded' },
        _sum: { amount: true },
        _count: { _all: true },
        _max: { createdAt: true },
      }),
    ]);
    const lastPayment = payments.reduce<Date | null>(
      (latest, group) => (group._max.createdAt && (!latest || group._max.createdAt > latest) ? group._max.createdAt : latest),
      null,
    );
    return {
      invoice_count: invoiceCount,
      payment_count: payments.reduce((sum, group) => sum + group._count._all, 0),
      total_spent: Object.fromEntries(
        payments.map((group) => [group.currency, minorUnitsToDecimal(group._sum.amount ?? 0n, group.currency)]),
      ),
      last_payment_at: lastPayment?.toISOString() ?? null,
      // Subscriptions arrive with the billing objects; until then no customer has one.
      subscription_status: null,
    };
  }
}

/**
 * Billing objects that pin a customer's external_id and currency. Subscriptions, wallets and
 * applied coupons join this check when their tables exist.
 */
export async function hasBillingObjects(tx: DbTx | Db, customerId: string): Promise<boolean> {
  return (await tx.invoice.count({ where: { customerId }, take: 1 })) > 0;
}

/** Columns for the profile fields present in the input; null clears, undefined leaves alone. */
type ProfileColumns = Omit<Prisma.CustomerUncheckedCreateInput, 'id' | 'merchantId' | 'environment'>;

function profileColumns(input: ProfileInput): ProfileColumns {
  const columns: Record<string, unknown> = {};
  const set = (column: string, value: unknown) => {
    if (value !== undefined) columns[column] = value;
  };
  set('email', input.email);
  set('phone', input.phone);
  set('name', input.name);
  set('tags', input.tags === undefined ? undefined : [...new Set(input.tags ?? [])]);
  set('companyName', input.company_name);
  set('taxId', input.tax_id);
  set('description', input.description);
  set('timezone', input.timezone);
  set('currency', input.currency);
  if (input.address !== undefined) {
    const address = input.address ?? {};
    columns.addressLine1 = address.line1 ?? null;
    columns.addressLine2 = address.line2 ?? null;
    columns.addressCity = address.city ?? null;
    columns.addressState = address.state ?? null;
    columns.addressPostalCode = address.postal_code ?? null;
    columns.addressCountry = address.country ?? null;
  }
  return columns as ProfileColumns;
}

/** Merges metadata key by key; a key set to null is removed. */
function mergeMetadata(current: Metadata, changes: Metadata): Prisma.InputJsonObject {
  const merged: Metadata = { ...current };
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  if (Object.keys(merged).length > MAX_METADATA_KEYS) {
    throw ValidationError.field('metadata', `metadata holds at most ${MAX_METADATA_KEYS} keys`);
  }
  return merged as Prisma.InputJsonObject;
}
