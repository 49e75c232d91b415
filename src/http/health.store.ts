import type { Db } from '../db.js';

/** The readiness probe's one statement. */
export class HealthStore {
  constructor(private readonly db: Db) {}

  /** Resolves when the database answers a query. */
  async ping(): Promise<void> {
    await this.db.$queryRaw`SELECT 1`;
  }
}
