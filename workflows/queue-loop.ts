import { condition, setHandler, workflowInfo, type SignalDefinition } from '@temporalio/workflow';

/** What one pass over a queue reports, for the loop to decide when to run the next. */
export interface QueuePassOutcome {
  /** The pass took a full batch: run another at once. */
  moreDue: boolean;
  /** When the earliest queued row is due (ISO), or null when none is waiting for a retry. */
  nextDueAt: string | null;
}

/** Without anything due and without a nudge for this long, the run ends; a nudge starts a new one. */
const IDLE_BEFORE_EXIT = '10 minutes';
/** Bounds the history of a busy queue even before Temporal suggests continuing as new. */
const MAX_PASSES_PER_RUN = 500;

/**
 * The loop of the workflows that drain a queue kept as rows in the database (a webhook endpoint's
 * deliveries, a merchant's messages, a sequence's pending enrolments): each pass is one activity
 * over a batch; between passes the run sleeps until the earliest retry is due or a nudge (a signal
 * without payload) says new rows exist; it continues as new to keep its history small, and ends
 * after a quiet while. `stop` ends it early with a reason (the endpoint was removed).
 */
export async function drainQueue<Outcome extends QueuePassOutcome, Stopped extends string = never>(loop: {
  nudge: SignalDefinition<[]>;
  pass: () => Promise<Outcome>;
  continueAsNew: () => Promise<never>;
  stop?: (outcome: Outcome) => Stopped | undefined;
}): Promise<Stopped | 'idle'> {
  let nudged = false;
  setHandler(loop.nudge, () => {
    nudged = true;
  });
  for (let pass = 1; ; pass++) {
    nudged = false;
    const outcome = await loop.pass();
    const stopped = loop.stop?.(outcome);
    if (stopped !== undefined) return stopped;
    if (workflowInfo().continueAsNewSuggested || pass >= MAX_PASSES_PER_RUN) await loop.continueAsNew();
    if (outcome.moreDue || nudged) continue;
    if (outcome.nextDueAt === null) {
      if (!(await condition(() => nudged, IDLE_BEFORE_EXIT))) return 'idle';
      continue;
    }
    // Date.now() in a workflow is the deterministic workflow clock; the floor keeps a clock skew
    // between it and the database from turning into a busy loop.
    await condition(() => nudged, Math.max(Date.parse(outcome.nextDueAt) - Date.now(), 200));
  }
}
