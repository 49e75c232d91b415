import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../db.js';
import type { Environment } from '../generated/prisma/enums.js';
import { NotFoundError, UnauthenticatedError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import type { Scope } from '../lib/scope.js';

const KEY_PATTERN = /^sk_(sandbox|live)_[A-Za-z0-9]{32}$/;
const SHOWN_PREFIX_LENGTH = 15;

function hashKey(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

function generateKey(environment: Environment): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  // 248 is the largest multiple of 62 below 256: rejecting bytes above it keeps every character equally likely.
  const chars: string[] = [];
  while (chars.length < 32) {
    for (const byte of randomBytes(48)) {
      if (byte < 248 && chars.length < 32) chars.push(alphabet[byte % 62]!);
    }
  }
  return `sk_${environment}_${chars.join('')}`;
}

export interface IssuedKey {
  id: string;
  merchantId: string;
  environment: Environment;
  /** The whole key: shown once, never stored. */
  key: string;
}

export interface AuthenticatedKey extends Scope {
  apiKeyId: string;
}

export class MerchantService {
  constructor(private readonly deps: { db: Db }) {}

  async createMerchant(name: string, environment: Environment = 'sandbox'): Promise<IssuedKey> {
    const merchant = await this.deps.db.merchant.create({ data: { id: newId('merchant'), name } });
    return this.issueKey(merchant.id, environment);
  }

  async issueKey(merchantId: string, environment: Environment): Promise<IssuedKey> {
    const merchant = await this.deps.db.merchant.findUnique({ where: { id: merchantId } });
    if (!merchant) throw new NotFoundError('merchant', merchantId);
    const key = generateKey(environment);
    const row = await this.deps.db.apiKey.create({
      data: {
        id: newId('apiKey'),
        merchantId,
        environment,
        prefix: key.slice(0, SHOWN_PREFIX_LENGTH),
        keyHash: hashKey(key).toString('hex'),
      },
    });
    return { id: row.id, merchantId, environment, key };
  }

  async revokeKey(apiKeyId: string): Promise<void> {
    const { count } = await this.deps.db.apiKey.updateMany({
      where: { id: apiKeyId, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    if (count === 0) throw new NotFoundError('active API key', apiKeyId);
  }

  /** Resolves a presented key to its merchant and environment, or throws 401. */
  async authenticate(presented: string | undefined): Promise<AuthenticatedKey> {
    if (!presented) {
      throw new UnauthenticatedError('No API key provided: send it in the x-api-key header or as a Bearer token');
    }
    if (!KEY_PATTERN.test(presented)) throw new UnauthenticatedError('Invalid API key');
    const presentedHash = hashKey(presented);
    const row = await this.deps.db.apiKey.findUnique({ where: { keyHash: presentedHash.toString('hex') } });
    // The lookup is by hash; the constant-time comparison guards against any lookup that is not exact.
    if (!row || !timingSafeEqual(Buffer.from(row.keyHash, 'hex'), presentedHash)) {
      throw new UnauthenticatedError('Invalid API key');
    }
    if (row.revokedAt) throw new UnauthenticatedError('This API key has been revoked');
    if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) {
      await this.deps.db.apiKey.update({ where: { id: row.id }, data: { lastUsedAt: new Date() } });
    }
    return { apiKeyId: row.id, merchantId: row.merchantId, environment: row.environment };
  }
}
