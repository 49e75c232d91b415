import { Prisma, type Db, type DbTx } from '../db.js';
import type { IdempotencyRecord } from '../generated/prisma/client.js';
import { newId } from '../lib/ids.js';
import type { Scope } from '../lib/scope.js';

export type { IdempotencyRecord };

/** A key as the request holding its lease names it: every write of that request is fenced by its token. */
export interface HeldKey {
  id: string;
  leaseToken: string;
}

/** What identifies a request under a key, and the lease its owner takes. */
export interface KeyClaim {
  method: string;
  path: string;
  requestHash: string;
  lockedUntil: Date;
  leaseToken: string;
}

export interface StoredReply {
  status: number;
  body: unknown;
  /** The customers the reply concerns, by which a customer's erasure finds it. */
  customerIds: string[];
  /** The body encrypted (a reply carrying a secret): stored instead of the body. */
  encrypted?: string;
}

/** A stored reply as a customer's erasure reads it. */
export interface ReplyOfCustomer {
  id: string;
  path: string;
  json: unknown;
}

/**
 * The Idempotency-Key records (`idempotency_records`), their one writer: the claims, leases and
 * replies of the HTTP layer, the purge of expired keys, and the erasure of a customer's replies.
 */
export class IdempotencyStore {
  constructor(private readonly db: Db) {}

  /** A new record owned by the claiming request; fails on a unique violation when the key exists. */
  async insert(scope: Scope, key: string, claim: KeyClaim & { expiresAt: Date }): Promise<string> {
    const record = await this.db.idempotencyRecord.create({
      data: {
        id: newId('idempotency'),
        merchantId: scope.merchantId,
        environment: scope.environment,
        key,
        ...claim,
      },
    });
    return record.id;
  }

  async find(scope: Scope, key: string): Promise<IdempotencyRecord | null> {
    return this.db.idempotencyRecord.findUnique({
      where: { merchantId_environment_key: { merchantId: scope.merchantId, environment: scope.environment, key } },
    });
  }

  /** Deletes the record if it has expired by now (another request may have replaced it). */
  async deleteIfExpired(id: string): Promise<void> {
    await this.db.idempotencyRecord.deleteMany({ where: { id, expiresAt: { lte: new Date() } } });
  }

  /** Takes over an in-progress key whose lease is still the one seen; true when this claim got it. */
  async takeOver(existing: Pick<IdempotencyRecord, 'id' | 'lockedUntil'>, claim: KeyClaim): Promise<boolean> {
    const { count } = await this.db.idempotencyRecord.updateMany({
      where: { id: existing.id, status: 'in_progress', lockedUntil: existing.lockedUntil },
      data: claim,
    });
    return count === 1;
  }

  /** Completes the held key with its reply (in the write's transaction when given); false when the key is no longer held. */
  async complete(held: HeldKey, reply: StoredReply, tx: DbTx = this.db): Promise<boolean> {
    const { count } = await tx.idempotencyRecord.updateMany({ where: heldBy(held), data: storedReply(reply) });
    return count === 1;
  }

  /** Gives the held key back. */
  async release(held: HeldKey): Promise<void> {
    await this.db.idempotencyRecord.deleteMany({ where: heldBy(held) });
  }

  async renew(held: HeldKey, lockedUntil: Date): Promise<void> {
    await this.db.idempotencyRecord.updateMany({ where: heldBy(held), data: { lockedUntil } });
  }

  /** The housekeeping purge: keys past their expiry. */
  async purgeExpired(now = new Date()): Promise<void> {
    await this.db.idempotencyRecord.deleteMany({ where: { expiresAt: { lt: now } } });
  }
}

function heldBy(held: HeldKey) {
  return { id: held.id, leaseToken: held.leaseToken, status: 'in_progress' as const };
}

function storedReply(reply: StoredReply) {
  return {
    status: 'completed' as const,
    responseStatus: reply.status,
    customerIds: reply.customerIds,
    ...(reply.encrypted !== undefined
      ? { responseBody: Prisma.DbNull, responseEncrypted: reply.encrypted }
      : { responseBody: reply.body as Prisma.InputJsonValue }),
    lockedUntil: null,
  };
}

// --- A customer's erasure: statements of the erasure's transaction. --------------------------

/**
 * The stored replies of the scope that name the customer (`customer_ids`) and, when the customer
 * had an external id, every reply of a request on an external-id path.
 */
export async function findRepliesConcerning(tx: DbTx, scope: Scope, customerId: string, externalId: string | null): Promise<ReplyOfCustomer[]> {
  return tx.$queryRaw<ReplyOfCustomer[]>`
      SELECT id, path, response_body AS json FROM idempotency_records
      WHERE merchant_id = ${scope.merchantId} AND environment = ${scope.environment}::"Environment"
        AND (customer_ids @> ARRAY[${customerId}]::text[]
             OR (${externalId}::text IS NOT NULL AND path LIKE '/v1/customers/external/%'))`;
}

/** Writes back, in one statement, the erased replies and their paths. */
export async function rewriteReplies(tx: DbTx, replies: ReplyOfCustomer[]): Promise<void> {
  await tx.$executeRawUnsafe(
    `UPDATE idempotency_records t SET response_body = u.json, path = u.path
       FROM jsonb_to_recordset($1::jsonb) AS u(id text, json jsonb, path text) WHERE t.id = u.id`,
    JSON.stringify(replies),
  );
}
