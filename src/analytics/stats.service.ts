import { SEARCH_ATTRIBUTES, WORKFLOW_TYPES, workflowIds, type LtvRollupInput, type LtvRollupSettings, type RollupScope } from '../../workflows/definitions.js';
import type { Db, DbTx } from '../db.js';
import type { StatsRollup } from '../generated/prisma/client.js';
import { NotFoundError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import type { Scope } from '../lib/scope.js';
import { TEMPORAL_CALL_TIMEOUT_MS, type TemporalGateway } from '../temporal/gateway.js';
import type { TemporalUi } from '../temporal/links.js';
import type { StatsRollupObject } from './analytics.schemas.js';
import { serializeRollup } from './analytics.serializer.js';
import type { StatsStore } from './stats.store.js';

export interface StatsServiceDeps {
  db: Db;
  store: StatsStore;
  temporal: TemporalGateway;
  ui: TemporalUi;
  /** How the rollups this service starts cut their work. */
  rollup: LtvRollupSettings;
}

/**
 * The LTV rollup's API: the rollup recomputes every `customer_stats` row in keyset-paginated
 * batches (the nightly reconciler, also started on demand; its batches are stats.steps.ts).
 * Progress lives in the database, so the API reports it without asking Temporal.
 */
export class StatsService {
  constructor(private readonly deps: StatsServiceDeps) {}

  /**
   * Starts a rollup of the caller's merchant and environment now, unless one is running: then that
   * one is answered (same id and run), so no tenant can run two full recomputations at once.
   * Concurrent requests queue on a per-tenant advisory lock held until the new rollup's row
   * commits; the row is there when the API answers.
   */
  async startRollup(scope: Scope): Promise<StatsRollupObject> {
    const { store } = this.deps;
    const rollupScope: RollupScope = { merchantId: scope.merchantId, environment: scope.environment };
    const rollup = await this.deps.db.$transaction(
      async (tx) => {
        await store.lockTenantRollups(tx, scope);
        const running = await store.runningRollup(tx, scope);
        if (running && (await this.stillRunning(tx, running))) return running;
        const rollupId = newId('statsRollup');
        const workflowId = workflowIds.ltvRollup(rollupScope, rollupId);
        const input: LtvRollupInput = { ...this.deps.rollup, scope: rollupScope, rollupId, digest: false };
        const runId = await this.deps.temporal.start(WORKFLOW_TYPES.ltvRollup, {
          workflowId,
          args: [input],
          typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.merchantId, value: scope.merchantId }],
        });
        return store.recordRollup({ id: rollupId, scope: rollupScope, workflowId, runId }, tx);
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
    await this.deps.store.failRunning(tx, rollup.id, `its workflow run ended (${status}) before the rollup finished`);
    return false;
  }

  async getRollup(scope: Scope, id: string): Promise<StatsRollupObject> {
    const rollup = await this.deps.store.findRollup(scope, id);
    if (!rollup) throw new NotFoundError('stats rollup', id, 'id');
    return this.serialize(rollup);
  }

  private async serialize(rollup: StatsRollup): Promise<StatsRollupObject> {
    return serializeRollup(rollup, await this.deps.store.customersDone(rollup.id), this.deps.ui);
  }
}
