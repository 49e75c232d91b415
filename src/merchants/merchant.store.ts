import type { Db } from '../db.js';
import type { ApiKey } from '../generated/prisma/client.js';
import type { Environment } from '../generated/prisma/enums.js';
import { newId } from '../lib/ids.js';

export type { ApiKey };

/**
 * The merchants and their API keys (`merchants`, `api_keys`), their one writer. A merchant's
 * settings rows come with it (a trigger); merchant-settings.store.ts writes them after that.
 */
export class MerchantStore {
  constructor(private readonly db: Db) {}

  async createMerchant(name: string): Promise<string> {
    const merchant = await this.db.merchant.create({ data: { id: newId('merchant'), name } });
    return merchant.id;
  }

  async merchantExists(merchantId: string): Promise<boolean> {
    return (await this.db.merchant.findUnique({ where: { id: merchantId } })) !== null;
  }

  /** A new key of the merchant, stored by its hash and shown prefix only. */
  async insertKey(key: { merchantId: string; environment: Environment; prefix: string; keyHash: string }): Promise<ApiKey> {
    return this.db.apiKey.create({ data: { id: newId('apiKey'), ...key } });
  }

  /** Revokes the key if it is active: false when there is no such active key. */
  async revokeKey(apiKeyId: string): Promise<boolean> {
    const { count } = await this.db.apiKey.updateMany({
      where: { id: apiKeyId, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    return count > 0;
  }

  async findKeyByHash(keyHash: string): Promise<ApiKey | null> {
    return this.db.apiKey.findUnique({ where: { keyHash } });
  }

  async recordKeyUse(apiKeyId: string, at: Date): Promise<void> {
    await this.db.apiKey.update({ where: { id: apiKeyId }, data: { lastUsedAt: at } });
  }
}
