import type { Db, DbTx } from '../db.js';

/** What the deletion saga hands a billing step: a heartbeat, so a dead worker is noticed fast. */
export interface SagaStepOptions {
  heartbeat?: () => void;
}

/**
 * Runs a step of the deletion saga as a series of transactions over at most `batchSize` objects
 * each. Each batch locks the objects still to change (and returns how many it locked) and changes
 * them with their events in one transaction, so a crash anywhere leaves every object either done
 * once or untouched, and running the step again continues where it stopped. A batch short of
 * `batchSize` was the last: the customer is being deleted, so no new object can appear.
 */
export async function inBatches(
  db: Db,
  batchSize: number,
  batch: (tx: DbTx, limit: number) => Promise<number>,
  options: SagaStepOptions = {},
): Promise<number> {
  let total = 0;
  for (;;) {
    const locked = await db.$transaction((tx) => batch(tx, batchSize), { timeout: 60_000 });
    options.heartbeat?.();
    total += locked;
    if (locked < batchSize) return total;
  }
}
