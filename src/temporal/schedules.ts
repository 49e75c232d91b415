import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import { LTV_ROLLUP_SCHEDULE_ID, WORKFLOW_TYPES, type LtvRollupInput } from '../../workflows/definitions.js';
import { ltvRollupSettings, type Config } from '../config.js';
import type { Logger } from '../logger.js';

/** A Temporal Schedule the worker keeps in place: what `ScheduleOptions` says, minus the task queue. */
export type ScheduleDefinition = Omit<ScheduleOptions, 'action'> & {
  action: Omit<Extract<ScheduleOptions['action'], { type: 'startWorkflow' }>, 'taskQueue'>;
};

/**
 * Creates each schedule, or brings an existing one to its definition (spec, action, policies)
 * while keeping its state: a schedule an operator paused in the Temporal UI stays paused. Safe to
 * run at every worker start, by several workers at once.
 */
export async function ensureSchedules(client: Client, taskQueue: string, definitions: ScheduleDefinition[], logger: Logger): Promise<void> {
  for (const definition of definitions) {
    const options = { ...definition, action: { ...definition.action, taskQueue } } as ScheduleOptions;
    try {
      await client.schedule.create(options);
      logger.info({ scheduleId: definition.scheduleId }, 'Temporal schedule created');
    } catch (error) {
      if (!(error instanceof ScheduleAlreadyRunning)) throw error;
      await client.schedule.getHandle(definition.scheduleId).update((previous) => ({
        ...previous,
        spec: options.spec,
        action: options.action,
        policies: { ...previous.policies, ...options.policies },
      }));
      logger.debug({ scheduleId: definition.scheduleId }, 'Temporal schedule brought up to date');
    }
  }
}

/** The schedules the service runs; the worker keeps them in place at every start. */
export function serviceSchedules(config: Config): ScheduleDefinition[] {
  const ltvRollup: LtvRollupInput = { ...ltvRollupSettings(config), digest: config.LTV_DIGEST_ENABLED };
  return [
    {
      scheduleId: LTV_ROLLUP_SCHEDULE_ID,
      spec: { cronExpressions: [config.LTV_ROLLUP_CRON], timezone: config.LTV_ROLLUP_TIMEZONE },
      action: { type: 'startWorkflow', workflowType: WORKFLOW_TYPES.ltvRollup, workflowId: LTV_ROLLUP_SCHEDULE_ID, args: [ltvRollup] },
      // A rollup still running at the next tick is left alone; after an outage, a run missed by
      // less than the catch-up window still happens (once).
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: config.LTV_ROLLUP_CATCHUP_WINDOW },
      state: { note: 'Nightly LTV rollup of every merchant: recomputes customer_stats and emails the digests.' },
    },
  ];
}
