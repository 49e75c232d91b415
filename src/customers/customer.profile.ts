import type { Prisma } from '../db.js';
import { tagEvents, type NewEvent } from '../events/outbox.js';
import type { Customer } from '../generated/prisma/client.js';
import { ValidationError } from '../lib/errors.js';
import type { Scope } from '../lib/scope.js';
import type { UpsertCustomerBody } from './customer.schemas.js';
import { serializeCustomer } from './customer.serializer.js';
import type { CustomerColumns } from './customer.store.js';

// What a write of customers computes in memory before the store writes it: the row a profile
// input makes of the current one, and the events of the change.

export type ProfileInput = UpsertCustomerBody;
type Metadata = Record<string, string | number | boolean | null>;
const MAX_METADATA_KEYS = 50;
export const MAX_TAGS = 100;

/** The events of one customer's change: created/updated, and one per tag gained or lost. */
export function changeEvents(type: 'customer.created' | 'customer.updated', before: readonly string[], after: Customer): NewEvent[] {
  const object = serializeCustomer(after);
  return [{ type, object, customerId: after.id }, ...tagEvents(before, after.tags, object)];
}

export function emptyColumns(): CustomerColumns {
  return {
    externalId: null,
    externalSource: null,
    email: null,
    phone: null,
    name: null,
    tags: [],
    metadata: {},
    addressLine1: null,
    addressLine2: null,
    addressCity: null,
    addressState: null,
    addressPostalCode: null,
    addressCountry: null,
    companyName: null,
    taxId: null,
    description: null,
    timezone: null,
    currency: null,
  };
}

export function buildCustomer(scope: Scope, id: string, now: Date, columns: CustomerColumns): Customer {
  return {
    id,
    merchantId: scope.merchantId,
    environment: scope.environment,
    status: 'active',
    ...columns,
    createdAt: now,
    updatedAt: now,
    deletedAt: null,
    erasedAt: null,
  };
}

/** The profile fields present in the input applied to `current`: null clears, undefined keeps. */
export function applyProfile<T extends CustomerColumns>(current: T, input: ProfileInput): CustomerColumns {
  const keep = <V>(value: V | undefined, fallback: V): V => (value === undefined ? fallback : value);
  const address = input.address === undefined ? undefined : (input.address ?? {});
  const addressField = <K extends keyof NonNullable<ProfileInput['address']>>(key: K, fallback: string | null) =>
    address === undefined ? fallback : (address[key] ?? null);
  return {
    externalId: current.externalId,
    externalSource: current.externalSource,
    email: keep(input.email, current.email),
    phone: keep(input.phone, current.phone),
    name: keep(input.name, current.name),
    tags: input.tags === undefined ? current.tags : [...new Set(input.tags ?? [])],
    metadata:
      input.metadata === undefined
        ? current.metadata
        : input.metadata === null
          ? {}
          : mergeMetadata((current.metadata ?? {}) as Metadata, input.metadata),
    addressLine1: addressField('line1', current.addressLine1),
    addressLine2: addressField('line2', current.addressLine2),
    addressCity: addressField('city', current.addressCity),
    addressState: addressField('state', current.addressState),
    addressPostalCode: addressField('postal_code', current.addressPostalCode),
    addressCountry: addressField('country', current.addressCountry),
    companyName: keep(input.company_name, current.companyName),
    taxId: keep(input.tax_id, current.taxId),
    description: keep(input.description, current.description),
    timezone: keep(input.timezone, current.timezone),
    currency: keep(input.currency, current.currency),
  };
}

/** Merges metadata key by key; a key set to null is removed. */
function mergeMetadata(current: Metadata, changes: Metadata): Prisma.JsonObject {
  const merged: Metadata = { ...current };
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  if (Object.keys(merged).length > MAX_METADATA_KEYS) {
    throw ValidationError.field('metadata', `metadata holds at most ${MAX_METADATA_KEYS} keys`);
  }
  return merged as Prisma.JsonObject;
}
