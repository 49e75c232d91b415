import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { sequenceEnrollmentsPendingSignal, type SequenceEnrollerInput } from './definitions.js';
import { drainQueue } from './queue-loop.js';

const { startPendingEnrollments } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * Starts the workflows of a sequence's pending enrolments (`sequence-enroller:<sequence id>`), so
 * that enrolling ten thousand customers costs the write path nothing: the event bus only inserts
 * rows and nudges this workflow, whose passes claim them in batches and signal-with-start each
 * customer's run with bounded concurrency and paced start delays.
 */
export async function sequenceEnrollerWorkflow(input: SequenceEnrollerInput): Promise<string> {
  let paceUntil = input.paceUntil ?? 0;
  return drainQueue({
    nudge: sequenceEnrollmentsPendingSignal,
    pass: async () => {
      const result = await startPendingEnrollments(input.sequenceId, paceUntil);
      paceUntil = result.paceUntil;
      return { moreDue: result.more, nextDueAt: null };
    },
    continueAsNew: () => continueAsNew<typeof sequenceEnrollerWorkflow>({ sequenceId: input.sequenceId, paceUntil }),
  });
}
