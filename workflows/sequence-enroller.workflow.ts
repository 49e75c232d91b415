import { condition, continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { sequenceEnrollmentsPendingSignal, type SequenceEnrollerInput } from './definitions.js';

const { startPendingEnrollments } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

const IDLE_BEFORE_EXIT = '10 minutes';
const MAX_PASSES_PER_RUN = 500;

/**
 * Starts the workflows of a sequence's pending enrolments (`sequence-enroller:<sequence id>`), so
 * that enrolling ten thousand customers costs the write path nothing: the event bus only inserts
 * rows and nudges this workflow, whose passes claim them in batches and signal-with-start each
 * customer's run with bounded concurrency and paced start delays.
 */
export async function sequenceEnrollerWorkflow(input: SequenceEnrollerInput): Promise<string> {
  let nudged = false;
  setHandler(sequenceEnrollmentsPendingSignal, () => {
    nudged = true;
  });
  let paceUntil = input.paceUntil ?? 0;
  for (let pass = 1; ; pass++) {
    nudged = false;
    const result = await startPendingEnrollments(input.sequenceId, paceUntil);
    paceUntil = result.paceUntil;
    if (workflowInfo().continueAsNewSuggested || pass >= MAX_PASSES_PER_RUN) {
      await continueAsNew<typeof sequenceEnrollerWorkflow>({ sequenceId: input.sequenceId, paceUntil });
    }
    if (result.more || nudged) continue;
    if (!(await condition(() => nudged, IDLE_BEFORE_EXIT))) return 'idle';
  }
}
