import { monotonicFactory } from 'ulid';

const nextUlid = monotonicFactory();

export const ID_PREFIXES = {
  merchant: 'mer',
  apiKey: 'key',
  customer: 'cus',
  payment: 'pay',
  invoice: 'inv',
  deletion: 'cdel',
  event: 'evt',
  webhookEndpoint: 'we',
  webhookDelivery: 'whd',
  idempotency: 'idem',
  request: 'req',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

/** Prefixed, time-ordered ids (`cus_01J...`): sorting by id sorts by creation. */
export function newId(kind: IdKind): string {
  return `${ID_PREFIXES[kind]}_${nextUlid()}`;
}
