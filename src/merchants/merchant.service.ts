import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../db.js';
import type { Environment } from '../generated/prisma/enums.js';
import { NotFoundError, UnauthenticatedError } from '../lib/errors.js';
import type { AuthenticatedKey, Scope, WriteContext } from '../lib/scope.js';
import type { Logger } from '../logger.js';
import { findSettings, writeSettings, type MerchantSettings } from './merchant-settings.store.js';
import { MerchantStore } from './merchant.store.js';
import type { SettingsObject, UpdateSettingsBody } from './merchant.schemas.js';

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

interface CachedKey {
  key: AuthenticatedKey;
  revoked: boolean;
  lastUsedAt: Date | null;
  fetchedAt: number;
}

/** Keys trusted at once; beyond this the cache starts over (it only saves a lookup). */
const MAX_CACHED_KEYS = 10_000;
/** How stale `last_used_at` may be before a use is written back. */
const LAST_USED_RESOLUTION_MS = 60_000;

export class MerchantService {
  private readonly cache = new Map<string, CachedKey>();
  private readonly store: MerchantStore;

  /**
   * `keyCacheMs`: how long a looked-up key is trusted without asking the database again, so a
   * revocation takes effect within that long; 0 (the CLI) asks every time.
   */
  constructor(private readonly deps: { db: Db; keyCacheMs?: number; logger?: Logger }) {
    this.store = new MerchantStore(deps.db);
  }

  async createMerchant(name: string, environment: Environment = 'sandbox'): Promise<IssuedKey> {
    const merchantId = await this.store.createMerchant(name);
    return this.issueKey(merchantId, environment);
  }

  async issueKey(merchantId: string, environment: Environment): Promise<IssuedKey> {
    if (!(await this.store.merchantExists(merchantId))) throw new NotFoundError('merchant', merchantId);
    const key = generateKey(environment);
    const row = await this.store.insertKey({
      merchantId,
      environment,
      prefix: key.slice(0, SHOWN_PREFIX_LENGTH),
      keyHash: hashKey(key).toString('hex'),
    });
    return { id: row.id, merchantId, environment, key };
  }

  async revokeKey(apiKeyId: string): Promise<void> {
    if (!(await this.store.revokeKey(apiKeyId))) throw new NotFoundError('active API key', apiKeyId);
    for (const [hash, cached] of this.cache) if (cached.key.apiKeyId === apiKeyId) this.cache.delete(hash);
  }

  /** The settings of the key's environment: a sandbox key never sees or changes the live ones. */
  async getSettings(scope: Scope): Promise<SettingsObject> {
    return serializeSettings(await findSettings(this.deps.db, scope));
  }

  /** Notification address, time zone, name of one environment: from the settings endpoint and the merchant CLI alike. */
  async updateSettings(scope: Scope, body: UpdateSettingsBody, write?: WriteContext<SettingsObject>): Promise<SettingsObject> {
    return this.deps.db.$transaction(async (tx) => {
      const settings = await writeSettings(tx, scope, {
        ...(body.name !== undefined && { name: body.name }),
        ...(body.notification_email !== undefined && { notificationEmail: body.notification_email }),
        ...(body.timezone !== undefined && { timezone: body.timezone }),
        ...(body.support_email !== undefined && { supportEmail: body.support_email }),
      });
      const result = serializeSettings(settings);
      await write?.commitReply?.(tx, result);
      return result;
    });
  }

  /** Resolves a presented key to its merchant and environment, or throws 401. */
  async authenticate(presented: string | undefined): Promise<AuthenticatedKey> {
    if (!presented) {
      throw new UnauthenticatedError('No API key provided: send it in the x-api-key header or as a Bearer token');
    }
    if (!KEY_PATTERN.test(presented)) throw new UnauthenticatedError('Invalid API key');
    const presentedHash = hashKey(presented);
    const hash = presentedHash.toString('hex');
    const cacheMs = this.deps.keyCacheMs ?? 0;
    let cached = this.cache.get(hash);
    if (!cached || Date.now() - cached.fetchedAt >= cacheMs) {
      const row = await this.store.findKeyByHash(hash);
      // The lookup is by hash; the constant-time comparison guards against any lookup that is not exact.
      if (!row || !timingSafeEqual(Buffer.from(row.keyHash, 'hex'), presentedHash)) {
        this.cache.delete(hash);
        throw new UnauthenticatedError('Invalid API key');
      }
      cached = {
        key: { apiKeyId: row.id, merchantId: row.merchantId, environment: row.environment },
        revoked: row.revokedAt !== null,
        lastUsedAt: row.lastUsedAt,
        fetchedAt: Date.now(),
      };
      if (cacheMs > 0) {
        if (this.cache.size >= MAX_CACHED_KEYS) this.cache.clear();
        this.cache.set(hash, cached);
      }
    }
    if (cached.revoked) throw new UnauthenticatedError('This API key has been revoked');
    this.noteUse(cached);
    return cached.key;
  }

  /** Records that the key was used, at most once a minute per key, off the request's path. */
  private noteUse(cached: CachedKey): void {
    const now = new Date();
    if (cached.lastUsedAt && now.getTime() - cached.lastUsedAt.getTime() < LAST_USED_RESOLUTION_MS) return;
    cached.lastUsedAt = now;
    this.store
      .recordKeyUse(cached.key.apiKeyId, now)
      .catch((error: unknown) => this.deps.logger?.warn({ err: error }, 'could not record when an API key was used'));
  }
}

function serializeSettings(settings: MerchantSettings): SettingsObject {
  return {
    object: 'settings',
    merchant_id: settings.merchantId,
    environment: settings.environment,
    name: settings.name,
    notification_email: settings.notificationEmail,
    timezone: settings.timezone,
    support_email: settings.supportEmail,
  };
}
