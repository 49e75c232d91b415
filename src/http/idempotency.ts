import { createHash } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import { setTimeout as sleep } from 'node:timers/promises';
import { isUniqueViolation, type Db, type DbTx, type Prisma } from '../db.js';
import { IdempotencyError, ValidationError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { customerIdsIn } from '../lib/personal-data.js';
import type { Scope } from '../lib/scope.js';
import type { Logger } from '../logger.js';
import { scopeOf } from './context.js';
import type { Reply } from './operation.js';

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
export const REPLAYED_HEADER = 'Idempotent-Replayed';
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const WAIT_FOR_CONCURRENT_MS = 10_000;

/** JSON with object keys sorted, so the same body sent with its keys reordered hashes the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The key this request owns: a write commits its reply through it, in the write's transaction. */
export interface IdempotencyClaim {
  commitReply(tx: DbTx, reply: Reply): Promise<void>;
}

export function idempotencyClaimOf(res: Response): IdempotencyClaim | undefined {
  return res.locals.idempotencyClaim as IdempotencyClaim | undefined;
}

export type Claim = ({ kind: 'owner'; id: string } & IdempotencyClaim) | { kind: 'replay'; status: number; body: unknown };

export interface KeyedRequest {
  key: string;
  method: string;
  /** The path with its query string: part of what makes two requests the same. */
  path: string;
  body: unknown;
}

/**
 * Claims an Idempotency-Key for a request: `owner` (run it, then commit the reply through the
 * claim) or `replay` (the stored reply of the same request). The owner holds the key by a lease
 * of `leaseMs`, renewed while it runs; a key whose lease ran out belongs to a request that died
 * with its process before committing anything, and is taken over. A different request under a
 * live or completed key is refused; a concurrent duplicate waits for the first to finish.
 */
export async function claimIdempotencyKey(db: Db, scope: Scope, request: KeyedRequest, leaseMs: number): Promise<Claim> {
  const { key, method, path } = request;
  const requestHash = createHash('sha256').update(canonicalJson({ method, path, body: request.body ?? null })).digest('hex');
  const leaseEnd = () => new Date(Date.now() + leaseMs);
  const owner = (id: string): Claim => ({
    kind: 'owner',
    id,
    async commitReply(tx, reply) {
      await tx.idempotencyRecord.update({ where: { id }, data: storedReply(reply) });
    },
  });
  const deadline = Date.now() + WAIT_FOR_CONCURRENT_MS;
  for (;;) {
    try {
      const record = await db.idempotencyRecord.create({
        data: {
          id: newId('idempotency'),
          merchantId: scope.merchantId,
          environment: scope.environment,
          key,
          method,
          path,
          requestHash,
          lockedUntil: leaseEnd(),
          expiresAt: new Date(Date.now() + IDEMPOTENCY_TTL_MS),
        },
      });
      return owner(record.id);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
    const existing = await db.idempotencyRecord.findUnique({
      where: { merchantId_environment_key: { merchantId: scope.merchantId, environment: scope.environment, key } },
    });
    if (!existing) continue;
    if (existing.expiresAt.getTime() <= Date.now()) {
      await db.idempotencyRecord.deleteMany({ where: { id: existing.id, expiresAt: { lte: new Date() } } });
      continue;
    }
    // The owner's lease ran out: it died before committing (a committed write completes the record
    // in its own transaction), so nothing was done under this key and this request takes it over.
    const leaseExpired = (existing.lockedUntil ?? new Date(existing.createdAt.getTime() + leaseMs)) < new Date();
    if (existing.status === 'in_progress' && leaseExpired) {
      const { count } = await db.idempotencyRecord.updateMany({
        where: { id: existing.id, status: 'in_progress', lockedUntil: existing.lockedUntil },
        data: { lockedUntil: leaseEnd(), method, path, requestHash },
      });
      if (count === 1) return owner(existing.id);
      continue;
    }
    if (existing.requestHash !== requestHash) {
      throw new IdempotencyError(
        `Idempotency-Key '${key}' was already used with a different request (${existing.method} ${existing.path}); use a new key`,
      );
    }
    if (existing.status === 'completed') {
      return { kind: 'replay', status: existing.responseStatus ?? 200, body: existing.responseBody };
    }
    if (Date.now() > deadline) {
      throw new IdempotencyError(`A request with Idempotency-Key '${key}' is still in progress; retry later`, 409);
    }
    await sleep(50);
  }
}

function storedReply(reply: Reply) {
  return {
    status: 'completed' as const,
    responseStatus: reply.status,
    responseBody: (reply.body ?? null) as Prisma.InputJsonValue,
    // The customers the reply concerns, by which a customer's erasure finds it.
    customerIds: customerIdsIn(reply.body ?? null),
    lockedUntil: null,
  };
}

/**
 * Same key + same request within 24 h replays the stored status and body; same key + another
 * request is refused; a concurrent duplicate waits for the first and then replays it, so one key
 * produces one effect. A write stores its reply in its own transaction (`commitReply`); anything
 * else is stored as the response is sent. 5xx answers are not stored, so the client can retry.
 */
export function idempotency(db: Db, logger: Logger, options: { leaseMs: number }): RequestHandler {
  return async (req, res, next) => {
    const key = req.get('Idempotency-Key');
    if (!WRITE_METHODS.has(req.method) || key === undefined) return next();
    if (key.length === 0 || key.length > 255) {
      throw ValidationError.field('Idempotency-Key', 'Idempotency-Key must be 1 to 255 characters');
    }
    const claim = await claimIdempotencyKey(
      db,
      scopeOf(res),
      { key, method: req.method, path: req.originalUrl, body: req.body },
      options.leaseMs,
    );
    if (claim.kind === 'replay') {
      res.set(REPLAYED_HEADER, 'true').status(claim.status).json(claim.body);
      return;
    }
    const renew = setInterval(() => {
      db.idempotencyRecord
        .updateMany({
          where: { id: claim.id, status: 'in_progress' },
          data: { lockedUntil: new Date(Date.now() + options.leaseMs) },
        })
        .catch((error: unknown) => logger.warn({ err: error }, 'could not renew an idempotency lease'));
    }, options.leaseMs / 3);
    res.once('close', () => clearInterval(renew));
    res.locals.idempotencyClaim = claim satisfies IdempotencyClaim;
    captureResponse(res, async (status, body) => {
      clearInterval(renew);
      try {
        if (status >= 500) {
          await db.idempotencyRecord.deleteMany({ where: { id: claim.id, status: 'in_progress' } });
        } else {
          // A no-op when the write already completed the record in its transaction.
          await db.idempotencyRecord.updateMany({
            where: { id: claim.id, status: 'in_progress' },
            data: storedReply({ status, body }),
          });
        }
      } catch (error) {
        // Without a stored answer the key must not block retries for a day.
        logger.error({ err: error }, 'could not store the idempotent response');
        await db.idempotencyRecord.deleteMany({ where: { id: claim.id, status: 'in_progress' } }).catch(() => undefined);
      }
    });
    res.set(REPLAYED_HEADER, 'false');
    next();
  };
}

/**
 * Stores the response before it is sent, so a replay can never see a half-finished record.
 * `store` must not reject.
 */
function captureResponse(res: Response, store: (status: number, body: unknown) => Promise<void>): void {
  const send = res.json.bind(res);
  res.json = (body: unknown) => {
    void store(res.statusCode, body ?? null).then(() => send(body));
    return res;
  };
}
