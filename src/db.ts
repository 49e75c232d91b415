import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient, Prisma } from './generated/prisma/client.js';

export { Prisma, PrismaClient };
export type Db = PrismaClient;
/** A transaction client or the client itself: services accept either. */
export type DbTx = Prisma.TransactionClient;
/** Plain SQL on the hottest paths, over the same connections as Prisma. */
export type SqlPool = pg.Pool;

export function createDb(databaseUrl: string): Db {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl }) });
}

export interface Database {
  db: Db;
  pool: SqlPool;
  close(): Promise<void>;
}

/**
 * One connection pool shared by Prisma and the few hot paths that run plain SQL (where Prisma's
 * per-query overhead shows: see docs/performance.md).
 */
export function createDatabase(databaseUrl: string, poolSize: number): Database {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: poolSize,
    // A database that does not answer fails the request (503) instead of holding it forever.
    connectionTimeoutMillis: 5_000,
  });
  // A connection the server dropped (restart, failover) is discarded; the pool opens a new one.
  pool.on('error', () => undefined);
  const db = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    db,
    pool,
    async close() {
      await db.$disconnect();
      await pool.end();
    },
  };
}

/** True when a write failed on a unique constraint (Postgres 23505). */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}
