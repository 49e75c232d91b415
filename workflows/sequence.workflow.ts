import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  SEQUENCE_STEP_ATTEMPTS,
  sequenceEnrollSignal,
  sequenceMessageKey,
  sequenceStopSignal,
  type SequenceRunInput,
} from './definitions.js';

const { runSequenceStep } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  // The step heartbeats every few seconds: a worker that died mid-send is noticed in 20 s, and the
  // retry finds the message `sending` instead of sending it again.
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: SEQUENCE_STEP_ATTEMPTS },
});

/** After an outage longer than the activity's retries (database down), try the step again this much later. */
const AFTER_EXHAUSTED_RETRIES = '10 minutes';
/** Bounds the history of a long sequence even before Temporal suggests continuing as new. */
const MAX_STEP_CALLS_PER_RUN = 200;

/**
 * One customer's run through one sequence (`sequence:<sequence id>:<customer id>`). Its input is
 * an enrolment id: the steps, the customer and the definition version are read by the step
 * activity, so a run keeps the definition its enrolment started with. Each step is one activity
 * that either says how long to wait (delay, send window) or sends and records the message; the
 * waits are durable timers. A stop signal ends the run before its next send; an enrol signal for
 * a newer enrolment (the customer entered again) runs it once this one has ended. The result is
 * `completed`, `stopped` (the enrolment exited: tag removed, customer deleted, ...) or `not_found`.
 */
export async function sequenceWorkflow(input: SequenceRunInput): Promise<string> {
  const { workflowId } = workflowInfo();
  let stopped = false;
  let newer: string | undefined;
  let woken = false;
  setHandler(sequenceStopSignal, (enrollmentId) => {
    if (enrollmentId === input.enrollmentId) stopped = true;
  });
  setHandler(sequenceEnrollSignal, (enrollmentId) => {
    // Enrolment ids are time-ordered: the newest one is the enrolment that can still be live. A
    // newer enrolment means this one has ended: wake up, let the step activity confirm it.
    if (enrollmentId !== input.enrollmentId && (newer === undefined || enrollmentId > newer)) {
      newer = enrollmentId;
      woken = true;
    }
  });
  const interrupted = () => stopped || woken;

  let step = input.step ?? 0;
  let outcome = 'stopped';
  for (let calls = 1; !stopped; calls++) {
    if (workflowInfo().continueAsNewSuggested || calls > MAX_STEP_CALLS_PER_RUN) {
      if (newer === undefined) await continueAsNew<typeof sequenceWorkflow>({ enrollmentId: input.enrollmentId, step });
    }
    woken = false;
    let result;
    try {
      result = await runSequenceStep({ enrollmentId: input.enrollmentId, step, key: sequenceMessageKey(workflowId, input.enrollmentId, step) });
    } catch (error) {
      if (!(error instanceof ActivityFailure) || (error.cause instanceof ApplicationFailure && error.cause.nonRetryable)) throw error;
      await condition(() => stopped, AFTER_EXHAUSTED_RETRIES);
      continue;
    }
    if (result.kind === 'ended') {
      // The enrolment left the sequence (its reason is on the enrolment): 'stopped', the same as when
      // the stop signal is what ended the run, so the result never depends on which arrived first.
      if (result.reason === 'completed' || result.reason === 'not_found') outcome = result.reason;
      break;
    }
    if (result.kind === 'done') {
      if (!result.next) {
        outcome = 'completed';
        break;
      }
      step = result.next.step;
      if (result.next.waitMs > 0) await condition(interrupted, result.next.waitMs);
      continue;
    }
    await condition(interrupted, result.waitMs);
  }
  // The customer entered again while this run was ending: run the new enrolment under the same id.
  if (newer !== undefined) await continueAsNew<typeof sequenceWorkflow>({ enrollmentId: newer });
  return outcome;
}
