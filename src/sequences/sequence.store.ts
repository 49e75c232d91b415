import type { Db, DbTx, Prisma } from '../db.js';
import type { Sequence } from '../generated/prisma/client.js';
import { paginate, type Page, type PaginationQuery } from '../lib/pagination.js';
import type { Scope } from '../lib/scope.js';

/**
 * Sequences and their versions (sequences, sequence_versions): the tables' one writer. An
 * enrolment keeps the version it started with (SequenceEnrollmentStore).
 */
export class SequenceStore {
  constructor(private readonly db: Db) {}

  // --- Definitions ---------------------------------------------------------------------------------

  async find(scope: Scope, id: string, options: { forUpdate?: boolean } = {}, db: Db | DbTx = this.db): Promise<Sequence | null> {
    if (options.forUpdate) await db.$executeRaw`SELECT 1 FROM sequences WHERE id = ${id} FOR UPDATE`;
    return db.sequence.findFirst({ where: { id, merchantId: scope.merchantId, environment: scope.environment } });
  }

  async list<Out>(where: Prisma.SequenceWhereInput, query: PaginationQuery, serialize: (row: Sequence) => Out): Promise<Page<Out>> {
    return paginate(this.db.sequence, where, query, serialize);
  }

  async insert(tx: DbTx, data: Prisma.SequenceUncheckedCreateInput): Promise<Sequence> {
    return tx.sequence.create({ data });
  }

  async update(tx: DbTx, id: string, data: Prisma.SequenceUncheckedUpdateInput): Promise<Sequence> {
    return tx.sequence.update({ where: { id }, data });
  }

  /** The definition a sequence has now, as the version its new enrolments run. */
  async insertVersion(tx: DbTx, sequence: Sequence): Promise<void> {
    await tx.sequenceVersion.create({
      data: {
        sequenceId: sequence.id,
        version: sequence.version,
        triggerTag: sequence.triggerTag,
        exitTag: sequence.exitTag,
        steps: sequence.steps as Prisma.InputJsonArray,
        exitEvents: sequence.exitEvents as Prisma.InputJsonArray,
      },
    });
  }

  // --- The event bus ---------------------------------------------------------------------------------

  /** The active sequences of these tenants triggered by these tags. */
  async triggeredBy(tx: DbTx, tags: string[], tenants: Scope[]) {
    return tx.sequence.findMany({
      where: {
        status: 'active',
        triggerTag: { in: tags },
        OR: tenants.map((tenant) => ({ merchantId: tenant.merchantId, environment: tenant.environment })),
      },
      select: { id: true, merchantId: true, environment: true, triggerTag: true, createdAt: true },
    });
  }
}
