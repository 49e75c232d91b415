import type { Config } from '../config.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../logger.js';
import type { Services } from '../services.js';
import { pruneOnce } from './retention.js';

/**
 * A recurring pass of background work. `run` resolves true when there is more to do at once; a
 * task with `busyIntervalMs` then pauses that long first (work that must not come in a burst).
 */
export interface HousekeepingTask {
  name: string;
  intervalMs: number;
  busyIntervalMs?: number;
  run(): Promise<boolean>;
}

export interface Housekeeping {
  stop(): Promise<void>;
}

/** Deliveries due this long ago with no sender on them lost their nudge: nudge again. */
const WEBHOOK_OVERDUE_MS = 30_000;
/** Enrolments pending this long with no enroller on them, and queued messages this overdue, likewise. */
const ENROLMENT_PENDING_MS = 30_000;
const MESSAGE_OVERDUE_MS = 30_000;

/**
 * The worker's background passes: the outbox relay (the event bus), the idempotency purge,
 * retention (old events, webhook deliveries and message bodies), and the reconcilers that repair
 * what a crash or an unreachable Temporal left behind (deletions without a run, webhook endpoints
 * whose nudge was lost).
 */
export function workerTasks(deps: { bus: EventBus; services: Services; config: Config }): HousekeepingTask[] {
  const { bus, services, config } = deps;
  let optOutsAdded = false;
  return [
    {
      name: 'outbox relay',
      intervalMs: config.OUTBOX_RELAY_INTERVAL_MS,
      run: async () => (await bus.relayOnce()) >= bus.batchSize,
    },
    {
      // Readers of a list total sum the deltas written since the last fold: fold often.
      name: 'customer count fold',
      intervalMs: Math.min(config.HOUSEKEEPING_INTERVAL_MS, 5_000),
      run: async () => {
        await services.customers.compactCounts();
        return false;
      },
    },
    {
      name: 'idempotency purge',
      intervalMs: config.HOUSEKEEPING_INTERVAL_MS,
      run: async () => {
        await services.stores.idempotency.purgeExpired();
        return false;
      },
    },
    {
      // Small batches with a pause between them: pruning a backlog never becomes a burst of writes.
      name: 'retention',
      intervalMs: config.HOUSEKEEPING_INTERVAL_MS,
      busyIntervalMs: config.RETENTION_PAUSE_MS,
      run: async () => (await pruneOnce(services, config)).more,
    },
    {
      name: 'deletion reconciler',
      intervalMs: config.HOUSEKEEPING_INTERVAL_MS,
      run: async () => {
        await services.deletions.reconcile(config.DELETION_STUCK_AFTER_MS);
        return false;
      },
    },
    {
      name: 'secret re-encryption',
      intervalMs: config.HOUSEKEEPING_INTERVAL_MS,
      run: async () => {
        await services.webhooks.reencryptSecrets();
        return false;
      },
    },
    {
      name: 'webhook reconciler',
      intervalMs: config.HOUSEKEEPING_INTERVAL_MS,
      run: async () => {
        await services.webhooks.reconcileOverdue(WEBHOOK_OVERDUE_MS);
        return false;
      },
    },
    {
      name: 'sequence enrolment reconciler',
      intervalMs: config.HOUSEKEEPING_INTERVAL_MS,
      run: async () => {
        await services.sequences.reconcilePending(ENROLMENT_PENDING_MS);
        return false;
      },
    },
    {
      // Once per process, until done: opt-outs recorded before the suppression list existed.
      name: 'opted-out addresses',
      intervalMs: config.HOUSEKEEPING_INTERVAL_MS,
      run: async () => {
        if (optOutsAdded) return false;
        const more = await services.suppressions.addOptedOutAddresses();
        optOutsAdded = !more;
        return more;
      },
    },
    {
      name: 'message queue reconciler',
      intervalMs: config.HOUSEKEEPING_INTERVAL_MS,
      run: async () => {
        await services.messageQueue.reconcileOverdue(MESSAGE_OVERDUE_MS);
        return false;
      },
    },
  ];
}

/**
 * Runs each task in its own loop: a task's passes never overlap, a failed pass is logged and
 * retried after the interval, and `stop()` wakes sleeping loops and awaits the pass in progress.
 */
export function startHousekeeping(tasks: HousekeepingTask[], logger: Logger): Housekeeping {
  let stopped = false;
  const wakers = new Set<() => void>();
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      wakers.add(wake);
    });
  const loops = tasks.map(async (task) => {
    while (!stopped) {
      let again = false;
      try {
        again = await task.run();
      } catch (error) {
        logger.warn({ err: error, task: task.name }, 'housekeeping pass failed; retrying after its interval');
      }
      if (!stopped && (!again || task.busyIntervalMs)) await pause(again ? task.busyIntervalMs! : task.intervalMs);
    }
  });
  return {
    async stop() {
      stopped = true;
      for (const wake of [...wakers]) wake();
      await Promise.all(loops);
    },
  };
}
