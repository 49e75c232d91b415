import { Context } from '@temporalio/activity';
import type { RollupScope } from '../workflows/definitions.js';
import { StatsSteps, type LtvBatch, type LtvBatchOutcome } from '../src/analytics/stats.steps.js';
import type { StatsStore } from '../src/analytics/stats.store.js';
import type { MessageQueueService } from '../src/messaging/message-queue.service.js';
import { asActivity } from './failures.js';

export interface AnalyticsActivityDeps {
  stores: { stats: StatsStore };
  messageQueue: Pick<MessageQueueService, 'queueDigests'>;
}

/** How often a running batch tells Temporal it is alive, even in the middle of a long statement. */
const KEEP_ALIVE_MS = 1_000;

/** The steps of the LTV rollup: each writes the same numbers when run again. */
export const createAnalyticsActivities = ({ stores, messageQueue }: AnalyticsActivityDeps) => {
  const stats = new StatsSteps({ store: stores.stats });
  return {
    async beginLtvRollup(input: { rollupId?: string; scope?: RollupScope; workflowId: string; runId: string }): Promise<string> {
      return asActivity(() => stats.beginRollup(input));
    },

    /**
     * One batch of customers. Heartbeats carry the customers done so far (visible on the pending
     * activity in the Temporal UI); a worker that dies stops them, and the batch is retried elsewhere,
     * resuming after its last committed chunk.
     */
    async refreshLtvBatch(batch: LtvBatch): Promise<LtvBatchOutcome> {
      const context = Context.current();
      let customersDone = 0;
      const keepAlive = setInterval(() => context.heartbeat({ customersDone }), KEEP_ALIVE_MS);
      try {
        return await asActivity(() =>
          stats.refreshBatch(batch, {
            signal: context.cancellationSignal,
            onChunk: (done) => {
              customersDone = done;
              context.heartbeat({ customersDone });
            },
          }),
        );
      } finally {
        clearInterval(keepAlive);
      }
    },

    async finishLtvRollup(rollupId: string): Promise<number> {
      return asActivity(() => stats.finishRollup(rollupId));
    },

    async failLtvRollup(rollupId: string, reason: string): Promise<void> {
      await asActivity(() => stats.failRollup(rollupId, reason));
    },

    /** Queues the nightly digests as messages; each merchant's message queue sends its own. */
    async sendLtvDigests(rollupId: string): Promise<number> {
      return asActivity(() => messageQueue.queueDigests(rollupId));
    },
  };
};
