import { randomFillSync } from 'node:crypto';
import { z } from 'zod';

export const ID_PREFIXES = {
  merchant: 'mer',
  apiKey: 'key',
  customer: 'cus',
  payment: 'pay',
  refund: 're',
  subscription: 'sub',
  invoice: 'inv',
  invoiceLine: 'il',
  creditNote: 'cn',
  wallet: 'wal',
  walletTransaction: 'wtx',
  appliedCoupon: 'acp',
  deletion: 'cdel',
  event: 'evt',
  webhookEndpoint: 'we',
  webhookDelivery: 'whd',
  idempotency: 'idem',
  request: 'req',
  sequence: 'seq',
  enrollment: 'enr',
  message: 'msg',
  statsRollup: 'ltvr',
  suppression: 'sup',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

/** Crockford base32, as ULIDs are written. */
const ULID = '[0-9A-HJKMNP-TV-Z]{26}';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

// Randomness is drawn from a pooled buffer: asking the OS for bytes on every id (as the ulid
// package does, once per character) showed up in the API's CPU profile.
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;
function randomBytes10(): Buffer {
  if (poolOffset + 10 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  poolOffset += 10;
  return pool.subarray(poolOffset - 10, poolOffset);
}

let lastTime = -1;
const lastRandom = new Uint8Array(10);

/**
 * A ULID (48-bit millisecond time, 80 random bits, Crockford base32). Monotonic within a
 * millisecond in this process: the random part of the previous id is incremented, so ids made in
 * one millisecond still sort in the order they were made.
 */
export function ulid(now = Date.now()): string {
  if (now <= lastTime) {
    now = lastTime;
    for (let i = 9; i >= 0 && ++lastRandom[i]! === 256; i--) lastRandom[i] = 0;
  } else {
    lastTime = now;
    lastRandom.set(randomBytes10());
  }
  let random = '';
  // 80 bits as 16 base32 digits, 5 bits at a time from the most significant end.
  for (let bit = 0; bit < 80; bit += 5) {
    const byte = bit >> 3;
    const word = ((lastRandom[byte]! << 8) | (lastRandom[byte + 1] ?? 0)) >> (11 - (bit & 7));
    random += CROCKFORD[word & 31]!;
  }
  return encodeTime(now) + random;
}

/** The 10 leading characters of a ULID: milliseconds since the epoch in base32. */
export function encodeTime(ms: number): string {
  let time = '';
  for (let t = ms, i = 0; i < 10; i++, t = Math.floor(t / 32)) time = CROCKFORD[t % 32]! + time;
  return time;
}

/** Prefixed, time-ordered ids (`cus_01J...`): sorting by id sorts by creation. */
export function newId(kind: IdKind): string {
  return `${ID_PREFIXES[kind]}_${ulid()}`;
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
  invoiceLine: 'invoice line',
  creditNote: 'credit note',
  wallet: 'wallet',
  walletTransaction: 'wallet transaction',
  appliedCoupon: 'applied coupon',
  deletion: 'customer deletion',
  event: 'event',
  webhookEndpoint: 'webhook endpoint',
  webhookDelivery: 'webhook delivery',
  idempotency: 'idempotency record',
  request: 'request',
  sequence: 'sequence',
  enrollment: 'sequence enrollment',
  message: 'message',
  statsRollup: 'stats rollup',
  suppression: 'suppression',
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
