import { createHash } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import { setTimeout as sleep } from 'node:timers/promises';
import { isUniqueViolation, type Db, type Prisma } from '../db';
import { IdempotencyError, ValidationError } from '../lib/errors';
import { newId } from '../lib/ids';
import type { Scope } from '../lib/scope';
import type { Logger } from '../logger';
import { scopeOf } from './context';

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
export const REPLAYED_HEADER = 'Idempotent-Replayed';
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const WAIT_FOR_CONCURRENT_MS = 10_000;
// A request still "in progress" after this long died with its process: its key is freed.
const ABANDONED_AFTER_MS = 60_000;

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

type Claim = { kind: 'owner'; id: string } | { kind: 'replay'; status: number; body: unknown };

async function claimKey(db: Db, scope: Scope, key: string, method: string, path: string, requestHash: string): Promise<Claim> {
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
          expiresAt: new Date(Date.now() + IDEMPOTENCY_TTL_MS),
        },
      });
      return { kind: 'owner', id: record.id };
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
    if (existing.status === 'in_progress' && existing.createdAt.getTime() < Date.now() - ABANDONED_AFTER_MS) {
      await db.idempotencyRecord.deleteMany({ where: { id: existing.id, status: 'in_progress' } });
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

/**
 * Same key + same request within 24 h replays the stored status and body; same key + another
 * request is refused; a concurrent duplicate waits for the first and then replays it, so one key
 * produces one effect. 5xx answers are not stored, so the client can retry them.
 */
export function idempotency(db: Db, logger: Logger): RequestHandler {
  return async (req, res, next) => {
    const key = req.get('Idempotency-Key');
    if (!WRITE_METHODS.has(req.method) || key === undefined) return next();
    if (key.length === 0 || key.length > 255) {
      throw ValidationError.field('Idempotency-Key', 'Idempotency-Key must be 1 to 255 characters');
    }
    const scope = scopeOf(res);
    const requestHash = createHash('sha256')
      .update(canonicalJson({ method: req.method, path: req.originalUrl, body: req.body ?? null }))
      .digest('hex');
    const claim = await claimKey(db, scope, key, req.method, req.originalUrl, requestHash);
    if (claim.kind === 'replay') {
      res.set(REPLAYED_HEADER, 'true').status(claim.status).json(claim.body);
      return;
    }
    captureResponse(res, async (status, body) => {
      try {
        if (status >= 500) {
          await db.idempotencyRecord.delete({ where: { id: claim.id } });
        } else {
          await db.idempotencyRecord.update({
            where: { id: claim.id },
            data: { status: 'completed', responseStatus: status, responseBody: body as Prisma.InputJsonValue },
          });
        }
      } catch (error) {
        // Without a stored answer the key must not block retries for a day.
        logger.error({ err: error, key }, 'could not store the idempotent response');
        await db.idempotencyRecord.deleteMany({ where: { id: claim.id } }).catch(() => undefined);
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
