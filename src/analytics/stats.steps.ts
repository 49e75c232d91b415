import type { RollupScope } from '../../workflows/definitions.js';
import { newId } from '../lib/ids.js';
import type { StatsStore } from './stats.store.js';

export interface StatsStepsDeps {
  store: StatsStore;
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

/** The bodies of the LTV rollup's activities: each writes the same numbers when run again. */
export class StatsSteps {
  constructor(private readonly deps: StatsStepsDeps) {}

  /**
   * First run of a rollup: records it (the API may have already) with the number of live
   * customers in scope. Returns its id; safe to repeat.
   */
  async beginRollup(input: { rollupId?: string; scope?: RollupScope; workflowId: string; runId: string }): Promise<string> {
    const rollup = await this.deps.store.recordRollup({ id: input.rollupId ?? newId('statsRollup'), ...input, countCustomers: true });
    return rollup.id;
  }

  /**
   * One batch of a rollup, written chunk by chunk, each chunk one transaction that also advances
   * the batch's cursor. A retried batch resumes after its last committed chunk, and a chunk done
   * twice (by an attempt Temporal already gave up on) writes the same numbers and is counted once.
   */
  async refreshBatch(batch: LtvBatch, progress: BatchProgress = {}): Promise<LtvBatchOutcome> {
    const { store } = this.deps;
    const { rollupId, scope, after, skip, size, chunkSize } = batch;
    // Boundaries count deleted customers too: customers are never removed and new ones sort last,
    // so batches computed by different activities at different moments meet exactly.
    const startAfter = skip === 0 ? after : await store.customerIdAt(scope, after, null, skip - 1);
    if (skip > 0 && startAfter === null) return { upTo: null };
    // Open-ended when the batch holds the last customer: the rollup then ends with this wave.
    const upTo = await store.customerIdAt(scope, after, null, skip + size - 1, { followed: true });
    const key = startAfter ?? '';
    const resumed = await store.batch(rollupId, key);
    // A batch whose cursor reached its end (null: the end of the customers) was done by an earlier attempt.
    if (resumed && (resumed.cursor === upTo || resumed.cursor === null)) return { upTo: resumed.cursor };
    let cursor = resumed ? resumed.cursor : startAfter;
    let customersDone = resumed?.customersDone ?? 0;
    for (;;) {
      progress.signal?.throwIfAborted();
      const chunkAfter = cursor;
      const chunkEnd = (await store.customerIdAt(scope, chunkAfter, upTo, chunkSize - 1)) ?? upTo;
      customersDone += await store.refreshChunk({ rollupId, startAfter: key }, { after: chunkAfter, upTo: chunkEnd, scope });
      progress.onChunk?.(customersDone);
      cursor = chunkEnd;
      if (chunkEnd === upTo) return { upTo };
    }
  }

  /** The rollup is done. Returns how many customers it covered. */
  async finishRollup(rollupId: string): Promise<number> {
    await this.deps.store.completeRollup(rollupId);
    return this.deps.store.customersDone(rollupId);
  }

  /** A batch failed for good; the API and the operator see why. */
  async failRollup(rollupId: string, reason: string): Promise<void> {
    await this.deps.store.failRollup(rollupId, reason);
  }
}
