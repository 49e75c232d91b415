import type { Suppression } from '../generated/prisma/client.js';
import type { Db } from '../db.js';
import { NotFoundError } from '../lib/errors.js';
import type { Page } from '../lib/pagination.js';
import type { Scope, WriteContext } from '../lib/scope.js';
import type { ListSuppressionsQuery, SuppressionObject } from './suppression.schemas.js';
import type { SuppressionSource, SuppressionStore } from './suppression.store.js';

export function serializeSuppression(row: Suppression): SuppressionObject {
  return { id: row.id, object: 'suppression', channel: row.channel, source: row.source as SuppressionSource, created: row.createdAt.toISOString() };
}

/**
 * The suppression list's API: a tenant's suppressed addresses (kept only as keyed hashes, see
 * SuppressionStore), and removing one when the person consents again.
 */
export class SuppressionService {
  constructor(private readonly deps: { db: Db; store: SuppressionStore }) {}

  async list(scope: Scope, query: ListSuppressionsQuery): Promise<Page<SuppressionObject>> {
    return this.deps.store.list(scope, query, serializeSuppression);
  }

  /** Removes one entry (the merchant holds the person's new consent); 404 outside the key's scope. */
  async remove(write: WriteContext<SuppressionObject & { deleted: true }>, id: string): Promise<SuppressionObject & { deleted: true }> {
    return this.deps.db.$transaction(async (tx) => {
      const row = await this.deps.store.find(tx, write, id);
      if (!row) throw new NotFoundError('suppression', id, 'id');
      await this.deps.store.delete(tx, id);
      const result = { ...serializeSuppression(row), deleted: true as const };
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  /**
   * Worker start: the addresses of per-customer opt-outs recorded before the suppression list
   * existed join it, one batch per call; true while there may be more. Repeating it adds nothing.
   */
  async addOptedOutAddresses(batch = 1_000): Promise<boolean> {
    return this.deps.store.addOptedOutAddresses(batch);
  }
}
