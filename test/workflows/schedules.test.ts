import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { ensureSchedules, type ScheduleDefinition } from '../../src/temporal/schedules.js';
import { startTestApi, type TestApi } from '../support/harness.js';

describe('Temporal schedules are kept in place at every worker start', () => {
  let api: TestApi;
  const scheduleId = `schedule-check-${process.pid}-${Date.now()}`;
  const logger = createLogger('silent', 'schedules-test');
  const definition = (hour: number): ScheduleDefinition => ({
    scheduleId,
    spec: { calendars: [{ hour, minute: 30 }], timezone: 'Europe/Paris' },
    action: { type: 'startWorkflow', workflowType: 'notRegisteredAnywhere', workflowId: `${scheduleId}-run`, args: [] },
    policies: { catchupWindow: '1 day' },
  });

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api.runtime.temporal.schedule.getHandle(scheduleId).delete();
    await api.stop();
  });

  it('creates a missing schedule, updates it to its definition, and keeps a pause an operator made', async () => {
    const client = api.runtime.temporal;
    await ensureSchedules(client, 'schedules-queue', [definition(2)], logger);
    const handle = client.schedule.getHandle(scheduleId);
    const created = await handle.describe();
    expect(created.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 2, end: 2, step: 1 }], minute: [{ start: 30, end: 30, step: 1 }] });
    expect(created.spec.timezone).toBe('Europe/Paris');
    expect(created.action).toMatchObject({ type: 'startWorkflow', workflowType: 'notRegisteredAnywhere', taskQueue: 'schedules-queue' });
    expect(created.policies.catchupWindow).toBe(86_400_000);
    expect(created.state.paused).toBe(false);

    await handle.pause('paused in the Temporal UI');
    // A second start (or a second worker) with a changed definition: created once, updated, still paused.
    await ensureSchedules(client, 'schedules-queue', [definition(4)], logger);
    await ensureSchedules(client, 'schedules-queue', [definition(4)], logger);
    const updated = await handle.describe();
    expect(updated.spec.calendars?.[0]?.hour).toEqual([{ start: 4, end: 4, step: 1 }]);
    expect(updated.state).toMatchObject({ paused: true, note: 'paused in the Temporal UI' });
  });
});
