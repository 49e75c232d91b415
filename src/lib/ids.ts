import { monotonicFactory } from 'ulid';
import { z } from 'zod';

const nextUlid = monotonicFactory();

export const ID_PREFIXES = {
  merchant: 'mer',
  apiKey: 'key',
  customer: 'cus',
  payment: 'pay',
  refund: 're',
  subscription: 'sub',
  invoice: 'inv',
  deletion: 'cdel',
  event: 'evt',
  webhookEndpoint: 'we',
  webhookDelivery: 'whd',
  idempotency: 'idem',
  request: 'req',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

/** Crockford base32, as ULIDs are written. */
const ULID = '[0-9A-HJKMNP-TV-Z]{26}';

/** Prefixed, time-ordered ids (`cus_01J...`): sorting by id sorts by creation. */
export function newId(kind: IdKind): string {
  return `${ID_PREFIXES[kind]}_${nextUlid()}`;
}

export function idPattern(kind: IdKind): RegExp {
  return new RegExp(`^${ID_PREFIXES[kind]}_${ULID}$`);
}

/** Human names of the id kinds, for "No such customer: ..." messages. */
const NAMES: Record<IdKind, string> = {
  merchant: 'merchant',
  apiKey: 'API key',
  customer: 'customer',
  payment: 'payment',
  refund: 'refund',
  subscription: 'subscription',
  invoice: 'invoice',
  deletion: 'customer deletion',
  event: 'event',
  webhookEndpoint: 'webhook endpoint',
  webhookDelivery: 'webhook delivery',
  idempotency: 'idempotency record',
  request: 'request',
};

// Schemas made by `idSchema`, so the router can answer a malformed id in a path with 404 (no such
// object), as it would for a well-formed id that does not exist.
const ID_SCHEMAS = new WeakMap<z.ZodType, IdKind>();

/** An object id of one kind: its pattern is declared in the OpenAPI document and checked. */
export function idSchema(kind: IdKind, description = `${NAMES[kind][0]!.toUpperCase()}${NAMES[kind].slice(1)} id`) {
  const example = `${ID_PREFIXES[kind]}_01JD3Z6Q4W8V2G7R1M5K9T0XYZ`;
  const schema = z
    .string()
    .regex(idPattern(kind), `expected a ${NAMES[kind]} id such as "${example}"`)
    .meta({ description, example });
  ID_SCHEMAS.set(schema, kind);
  return schema;
}

/** The id kind of a schema made by `idSchema`, if it is one. */
export function idKindOf(schema: z.ZodType): IdKind | undefined {
  return ID_SCHEMAS.get(schema);
}

export function idKindName(kind: IdKind): string {
  return NAMES[kind];
}
