import {
  SEARCH_ATTRIBUTES,
  WORKFLOW_TYPES,
  workflowIds,
  type LtvRollupInput,
  type LtvRollupSettings,
  type RollupScope,
} from '../../workflows/definitions.js';
import { Prisma, type Db, type DbTx } from '../db.js';
import type { StatsRollup } from '../generated/prisma/client.js';
import { NotFoundError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import type { Scope } from '../lib/scope.js';
import { TEMPORAL_CALL_TIMEOUT_MS, type TemporalGateway } from '../temporal/gateway.js';
import type { TemporalUi } from '../temporal/links.js';
import type { StatsRollupObject } from './analytics.schemas.js';
import { serializeRollup } from './analytics.serializer.js';
import { refreshStats } from './stats.queries.js';

export interface StatsServiceDeps {
  db: Db;
  temporal: TemporalGateway;
  ui: TemporalUi;
  /** How the rollups this service starts cut their work. */
  rollup: LtvRollupSettings;
}

/** One batch of a rollup: `size` customers in id order, starting `skip` customers after `after`. */
export interface LtvBatch {
  rollupId: string;
  scope?: RollupScope;
  after: string | null;
  skip: number;
  size: number;
  chunkSize: number;
}

export interface LtvBatchOutcome {
  /** The last customer id of the batch; null when it reached the end of the customers. */
  upTo: string | null;
}

export interface BatchProgress {
  /** Stops the batch between chunks (activity cancellation). */
  signal?: AbortSignal;
  /** Called after each chunk with the customers the batch has done so far (activity heartbeat). */
  onChunk?: (customersDone: number) => void;
}

/**
 * Customer stats: keeps the `customer_stats` rows of customers fresh as their payments change (the
 * stats subscriber), and runs the LTV rollup that recomputes every row in keyset-paginated batches
 * (the nightly reconciler, also started on demand). Progress lives in the database, so the API
 * reports it without asking Temporal.
 */
export class StatsService {
  constructor(private readonly deps: StatsServiceDeps) {}

  /** The stats subscriber's refresh: one set-based computation for a batch of events' customers. */
  async refreshCustomers(tx: DbTx, customerIds: string[]): Promise<void> {
    if (customerIds.length > 0) await refreshStats(tx, { ids: customerIds });
  }

  /**
   * Starts a rollup of the caller's merchant and environment now, unless one is running: then that
   * one is answered (same id and run), so no tenant can run two full recomputations at once.
   * Concurrent requests queue on a per-tenant advisory lock held until the new rollup's row
   * commits; the row is there when the API answers.
   */
  async startRollup(scope: Scope): Promise<StatsRollupObject> {
    const rollupScope: RollupScope = { merchantId: scope.merchantId, environment: scope.environment };
    const rollup = await this.deps.db.$transaction(
      async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`ltv-rollup:${scope.merchantId}:${scope.environment}`}, 0))`;
        const running = await tx.statsRollup.findFirst({
          where: { merchantId: scope.merchantId, environment: scope.environment, status: 'running' },
          orderBy: { createdAt: 'desc' },
        });
        if (running && (await this.stillRunning(tx, running))) return running;
        const rollupId = newId('statsRollup');
        const workflowId = workflowIds.ltvRollup(rollupScope, rollupId);
        const input: LtvRollupInput = { ...this.deps.rollup, scope: rollupScope, rollupId, digest: false };
        const runId = await this.deps.temporal.start(WORKFLOW_TYPES.ltvRollup, {
          workflowId,
          args: [input],
          typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.merchantId, value: scope.merchantId }],
        });
        return this.recordRollup(tx, { id: rollupId, scope: rollupScope, workflowId, runId });
      },
      // Long enough for the Temporal calls made while holding the lock.
      { timeout: 3 * TEMPORAL_CALL_TIMEOUT_MS },
    );
    return this.serialize(rollup);
  }

  /**
   * Whether a rollup recorded as running still has a run in Temporal. One whose run ended without
   * finishing (terminated by an operator, timed out) is marked failed, so it blocks no new rollup.
   * When Temporal cannot say, it is taken as running: a new start would fail the same way.
   */
  private async stillRunning(tx: DbTx, rollup: StatsRollup): Promise<boolean> {
    let status: string;
    try {
      status = (await this.deps.temporal.status(rollup.workflowId)) ?? 'NOT_FOUND';
    } catch {
      return true;
    }
    if (status === 'RUNNING') return true;
    await tx.statsRollup.updateMany({
      where: { id: rollup.id, status: 'running' },
      data: { status: 'failed', failureReason: `its workflow run ended (${status}) before the rollup finished` },
    });
    return false;
  }

  async getRollup(scope: Scope, id: string): Promise<StatsRollupObject> {
    const rollup = await this.deps.db.statsRollup.findFirst({
      where: { id, merchantId: scope.merchantId, environment: scope.environment },
    });
    if (!rollup) throw new NotFoundError('stats rollup', id, 'id');
    return this.serialize(rollup);
  }

  /**
   * Activity, first run of a rollup: records it (the API may have already) with the number of live
   * customers in scope. Returns its id; safe to repeat.
   */
  async beginRollup(input: { rollupId?: string; scope?: RollupScope; workflowId: string; runId: string }): Promise<string> {
    const rollup = await this.recordRollup(this.deps.db, { id: input.rollupId ?? newId('statsRollup'), ...input, countCustomers: true });
    return rollup.id;
  }

  /**
   * Activity: one batch of a rollup, written chunk by chunk, each chunk one transaction that also
   * advances the batch's cursor. A retried batch resumes after its last committed chunk, and a chunk
   * done twice (by an attempt Temporal already gave up on) writes the same numbers and is counted once.
   */
  async refreshBatch(batch: LtvBatch, progress: BatchProgress = {}): Promise<LtvBatchOutcome> {
    const { rollupId, scope, after, skip, size, chunkSize } = batch;
    // Boundaries count deleted customers too: customers are never removed and new ones sort last,
    // so batches computed by different activities at different moments meet exactly.
    const startAfter = skip === 0 ? after : await this.customerIdAt(scope, after, null, skip - 1);
    if (skip > 0 && startAfter === null) return { upTo: null };
    // Open-ended when the batch holds the last customer: the rollup then ends with this wave.
    const upTo = await this.customerIdAt(scope, after, null, skip + size - 1, { followed: true });
    const key = startAfter ?? '';
    const resumed = await this.deps.db.statsRollupBatch.findUnique({ where: { rollupId_startAfter: { rollupId, startAfter: key } } });
    // A batch whose cursor reached its end (null: the end of the customers) was done by an earlier attempt.
    if (resumed && (resumed.cursor === upTo || resumed.cursor === null)) return { upTo: resumed.cursor };
    let cursor = resumed ? resumed.cursor : startAfter;
    let customersDone = resumed?.customersDone ?? 0;
    for (;;) {
      progress.signal?.throwIfAborted();
      const chunkAfter = cursor;
      const chunkEnd = (await this.customerIdAt(scope, chunkAfter, upTo, chunkSize - 1)) ?? upTo;
      customersDone += await this.deps.db.$transaction(async (tx) => {
        const customers = await refreshStats(tx, { after: chunkAfter, upTo: chunkEnd, scope });
        await tx.$executeRaw`
          INSERT INTO stats_rollup_batches (rollup_id, start_after, cursor, customers_done, updated_at)
          VALUES (${rollupId}, ${key}, ${chunkEnd}, ${customers}, now())
          ON CONFLICT (rollup_id, start_after) DO UPDATE SET
            cursor = EXCLUDED.cursor,
            customers_done = stats_rollup_batches.customers_done + EXCLUDED.customers_done,
            updated_at = EXCLUDED.updated_at
          WHERE stats_rollup_batches.cursor IS NOT NULL
            AND (EXCLUDED.cursor IS NULL OR stats_rollup_batches.cursor < EXCLUDED.cursor)`;
        return customers;
      });
      progress.onChunk?.(customersDone);
      cursor = chunkEnd;
      if (chunkEnd === upTo) return { upTo };
    }
  }

  /** Activity: the rollup is done. Returns how many customers it covered. */
  async finishRollup(rollupId: string): Promise<number> {
    await this.deps.db.statsRollup.updateMany({
      where: { id: rollupId, status: { not: 'completed' } },
      data: { status: 'completed', completedAt: new Date(), failureReason: null },
    });
    return this.customersDone(rollupId);
  }

  /** Activity: a batch failed for good; the API and the operator see why. */
  async failRollup(rollupId: string, reason: string): Promise<void> {
    await this.deps.db.statsRollup.update({ where: { id: rollupId }, data: { status: 'failed', failureReason: reason } });
  }

  /**
   * The id of the customer `offset` places after `after` (and no later than `upTo`), in id order,
   * within the scope; null when there are not that many (or, when it must be `followed`, when no
   * customer comes after it).
   */
  private async customerIdAt(
    scope: RollupScope | undefined,
    after: string | null,
    upTo: string | null,
    offset: number,
    options: { followed?: boolean } = {},
  ): Promise<string | null> {
    const conditions = [
      ...(scope ? [Prisma.sql`merchant_id = ${scope.merchantId} AND environment = ${scope.environment}::"Environment"`] : []),
      ...(after === null ? [] : [Prisma.sql`id > ${after}`]),
      ...(upTo === null ? [] : [Prisma.sql`id <= ${upTo}`]),
    ];
    const where = conditions.length > 0 ? Prisma.join(conditions, ' AND ') : Prisma.sql`TRUE`;
    const rows = await this.deps.db.$queryRaw<{ id: string }[]>`
      SELECT id FROM customers WHERE ${where} ORDER BY id OFFSET ${offset} LIMIT ${options.followed ? 2 : 1}`;
    return options.followed && rows.length < 2 ? null : (rows[0]?.id ?? null);
  }

  /**
   * Creates the rollup's row or completes it: the API (after Temporal took the run) and the run's
   * first activity both record it, in either order.
   */
  private async recordRollup(db: Db | DbTx, rollup: {
    id: string;
    scope?: RollupScope;
    workflowId: string;
    runId: string;
    countCustomers?: boolean;
  }): Promise<StatsRollup> {
    const { scope } = rollup;
    const total = rollup.countCustomers
      ? Prisma.sql`(SELECT count(*)::int FROM customers WHERE deleted_at IS NULL
          AND (${scope?.merchantId ?? null}::text IS NULL OR (merchant_id = ${scope?.merchantId ?? null} AND environment = ${scope?.environment ?? null}::"Environment")))`
      : Prisma.sql`NULL::int`;
    const [row] = await db.$queryRaw<{ id: string }[]>`
      INSERT INTO stats_rollups (id, merchant_id, environment, workflow_id, run_id, customers_total)
      VALUES (${rollup.id}, ${scope?.merchantId ?? null}, ${scope?.environment ?? null}::"Environment", ${rollup.workflowId},
              ${rollup.runId}, ${total})
      ON CONFLICT (workflow_id) DO UPDATE SET
        run_id = coalesce(stats_rollups.run_id, EXCLUDED.run_id),
        customers_total = coalesce(stats_rollups.customers_total, EXCLUDED.customers_total),
        updated_at = now()
      RETURNING id`;
    return db.statsRollup.findUniqueOrThrow({ where: { id: row!.id } });
  }

  private async customersDone(rollupId: string): Promise<number> {
    const { _sum } = await this.deps.db.statsRollupBatch.aggregate({ where: { rollupId }, _sum: { customersDone: true } });
    return _sum.customersDone ?? 0;
  }

  private async serialize(rollup: StatsRollup): Promise<StatsRollupObject> {
    return serializeRollup(rollup, await this.customersDone(rollup.id), this.deps.ui);
  }
}
