import { createHash, randomUUID } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import { setTimeout as sleep } from 'node:timers/promises';
import { isUniqueViolation, type Db, type DbTx } from '../db.js';
import { IdempotencyStore, type HeldKey, type StoredReply } from '../idempotency/idempotency.store.js';
import { IdempotencyError, ValidationError } from '../lib/errors.js';
import { customerIdsIn } from '../lib/personal-data.js';
import type { Scope } from '../lib/scope.js';
import type { SecretBox } from '../lib/secret-box.js';
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

/** The key's lease went to another request (this one stalled past it): this one's write must not commit. */
export class IdempotencyKeyTakenOver extends Error {}

export function idempotencyClaimOf(res: Response): OwnedKey | undefined {
  return res.locals.idempotencyClaim as OwnedKey | undefined;
}

export type Claim = OwnedKey | { kind: 'replay'; status: number; body: unknown };

export interface IdempotencyOptions {
  leaseMs: number;
  /** Encrypts the stored replies that carry secrets. */
  secrets: SecretBox;
}

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
 * of `leaseMs` and a token of its own, renewed while it runs; a key whose lease ran out belongs to
 * a request that died (or stalled) before committing, and is taken over with a new token, so the
 * stalled request can no longer commit. A different request under a live or completed key is
 * refused; a concurrent duplicate waits for the first to finish.
 */
export async function claimIdempotencyKey(db: Db, scope: Scope, request: KeyedRequest, options: IdempotencyOptions): Promise<Claim> {
  return claimKey(new IdempotencyStore(db), scope, request, options);
}

async function claimKey(records: IdempotencyStore, scope: Scope, request: KeyedRequest, options: IdempotencyOptions): Promise<Claim> {
  const { key, method, path } = request;
  const { leaseMs, secrets } = options;
  const requestHash = createHash('sha256').update(canonicalJson({ method, path, body: request.body ?? null })).digest('hex');
  const leaseEnd = () => new Date(Date.now() + leaseMs);
  const owner = (id: string, token: string) => new OwnedKey(id, token, { records, scope, request, options });
  const deadline = Date.now() + WAIT_FOR_CONCURRENT_MS;
  for (;;) {
    const token = randomUUID();
    try {
      const id = await records.insert(scope, key, {
        method,
        path,
        requestHash,
        lockedUntil: leaseEnd(),
        leaseToken: token,
        expiresAt: new Date(Date.now() + IDEMPOTENCY_TTL_MS),
      });
      return owner(id, token);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
    const existing = await records.find(scope, key);
    if (!existing) continue;
    if (existing.expiresAt.getTime() <= Date.now()) {
      await records.deleteIfExpired(existing.id);
      continue;
    }
    // The owner's lease ran out: it died, or stalled, before committing (a committed write completes
    // the record in its own transaction). This request takes the key over with a token of its own;
    // a stalled owner's commit, fenced by its token, can no longer succeed.
    const leaseExpired = (existing.lockedUntil ?? new Date(existing.createdAt.getTime() + leaseMs)) < new Date();
    if (existing.status === 'in_progress' && leaseExpired) {
      const taken = await records.takeOver(existing, { lockedUntil: leaseEnd(), method, path, requestHash, leaseToken: token });
      if (taken) return owner(existing.id, token);
      continue;
    }
    if (existing.requestHash !== requestHash) {
      throw new IdempotencyError(
        `Idempotency-Key '${key}' was already used with a different request (${existing.method} ${existing.path}); use a new key`,
      );
    }
    if (existing.status === 'completed') {
      const body = existing.responseEncrypted === null ? existing.responseBody : JSON.parse(secrets.decrypt(existing.responseEncrypted));
      return { kind: 'replay', status: existing.responseStatus ?? 200, body };
    }
    if (Date.now() > deadline) {
      throw new IdempotencyError(`A request with Idempotency-Key '${key}' is still in progress; retry later`, 409);
    }
    await sleep(50);
  }
}

/**
 * The key, held by this request's lease: everything it writes to its record is fenced by its
 * token, so once a retry took the key over nothing of this request lands there any more.
 */
export class OwnedKey {
  readonly kind = 'owner';
  private secretReply = false;

  constructor(
    readonly id: string,
    private readonly token: string,
    private readonly origin: { records: IdempotencyStore; scope: Scope; request: KeyedRequest; options: IdempotencyOptions },
  ) {}

  /** The reply carries a secret (a signing secret shown once): it is stored encrypted. */
  protectReply(): void {
    this.secretReply = true;
  }

  /**
   * Stores the reply in the write's transaction, while the key is still this request's: else
   * throws IdempotencyKeyTakenOver, which rolls the write back (the retry that took the key over
   * does the write instead).
   */
  async commitReply(tx: DbTx, reply: Reply): Promise<void> {
    const stored = await this.origin.records.complete(this.held(), this.stored(reply), tx);
    if (!stored) throw new IdempotencyKeyTakenOver(`Idempotency-Key '${this.origin.request.key}' was taken over by a retry`);
  }

  /** A reply not stored by a write's transaction (a read, an error): stored as it is sent. */
  async storeReply(reply: Reply): Promise<void> {
    await this.origin.records.complete(this.held(), this.stored(reply));
  }

  /** Gives the key back (a 5xx answer, or a store that failed): the client may retry. */
  async release(): Promise<void> {
    await this.origin.records.release(this.held());
  }

  async renew(): Promise<void> {
    await this.origin.records.renew(this.held(), new Date(Date.now() + this.origin.options.leaseMs));
  }

  /**
   * After IdempotencyKeyTakenOver: the answer a retry of this request gets now, the reply of the
   * request that took the key over (waiting for it, as a concurrent duplicate does). Should the key
   * be free again (that request failed with a 5xx), this one did nothing under it: 409, retry.
   */
  async answerAsRetry(): Promise<{ status: number; body: unknown }> {
    const { records, scope, request, options } = this.origin;
    const again = await claimKey(records, scope, request, options);
    if (again.kind === 'replay') return again;
    await again.release();
    throw new IdempotencyError(`A request with Idempotency-Key '${request.key}' is still in progress; retry later`, 409);
  }

  private held(): HeldKey {
    return { id: this.id, leaseToken: this.token };
  }

  private stored(reply: Reply): StoredReply {
    const body = reply.body ?? null;
    return {
      status: reply.status,
      body,
      customerIds: customerIdsIn(body),
      ...(this.secretReply && { encrypted: this.origin.options.secrets.encrypt(JSON.stringify(body)) }),
    };
  }
}

/**
 * Same key + same request within 24 h replays the stored status and body; same key + another
 * request is refused; a concurrent duplicate waits for the first and then replays it, so one key
 * produces one effect. A write stores its reply in its own transaction (`commitReply`); anything
 * else is stored as the response is sent. 5xx answers are not stored, so the client can retry.
 */
export function idempotency(db: Db, logger: Logger, options: IdempotencyOptions): RequestHandler {
  const records = new IdempotencyStore(db);
  return async (req, res, next) => {
    const key = req.get('Idempotency-Key');
    if (!WRITE_METHODS.has(req.method) || key === undefined) return next();
    if (key.length === 0 || key.length > 255) {
      throw ValidationError.field('Idempotency-Key', 'Idempotency-Key must be 1 to 255 characters');
    }
    const claim = await claimKey(records, scopeOf(res), { key, method: req.method, path: req.originalUrl, body: req.body }, options);
    if (claim.kind === 'replay') {
      res.set(REPLAYED_HEADER, 'true').status(claim.status).json(claim.body);
      return;
    }
    const renew = setInterval(() => {
      claim.renew().catch((error: unknown) => logger.warn({ err: error }, 'could not renew an idempotency lease'));
    }, options.leaseMs / 3);
    res.once('close', () => clearInterval(renew));
    res.locals.idempotencyClaim = claim;
    captureResponse(res, async (status, body) => {
      clearInterval(renew);
      try {
        // A no-op when the write already completed the record in its transaction, or when the key
        // was taken over by a retry.
        if (status >= 500) await claim.release();
        else await claim.storeReply({ status, body });
      } catch (error) {
        // Without a stored answer the key must not block retries for a day.
        logger.error({ err: error }, 'could not store the idempotent response');
        await claim.release().catch(() => undefined);
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
