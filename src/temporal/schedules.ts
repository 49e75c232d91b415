import { ScheduleAlreadyRunning, type Client, type ScheduleOptions } from '@temporalio/client';
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
export function serviceSchedules(): ScheduleDefinition[] {
  return [];
}
