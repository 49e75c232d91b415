import { Context } from '@temporalio/activity';
import { SEQUENCE_STEP_ATTEMPTS, type EnrollerPass, type SequenceStepResult } from '../workflows/definitions.js';
import type { SequenceService } from '../src/sequences/sequence.service.js';
import { asActivity } from './failures.js';

export interface SequenceActivityDeps {
  sequences: Pick<SequenceService, 'runStep' | 'startPending' | 'stopForCustomer'>;
}

/** Heartbeats while a call runs, so a worker that died mid-send is noticed within the heartbeat timeout. */
async function withHeartbeat<T>(run: () => Promise<T>): Promise<T> {
  const context = Context.current();
  const timer = setInterval(() => context.heartbeat(), 3_000);
  try {
    return await run();
  } finally {
    clearInterval(timer);
  }
}

export const createSequenceActivities = ({ sequences }: SequenceActivityDeps) => ({
  /** One step of an enrolment: wait longer, or send (at most once per key) and move on. */
  async runSequenceStep(input: { enrollmentId: string; step: number; key: string }): Promise<SequenceStepResult> {
    const finalAttempt = Context.current().info.attempt >= SEQUENCE_STEP_ATTEMPTS;
    return withHeartbeat(() => asActivity(() => sequences.runStep(input, { finalAttempt })));
  },
  /** One enroller pass: start the workflows of a batch of pending enrolments. */
  async startPendingEnrollments(sequenceId: string, paceUntil: number): Promise<EnrollerPass> {
    const context = Context.current();
    return asActivity(() => sequences.startPending(sequenceId, paceUntil, () => context.heartbeat()));
  },
  /** Deletion saga (`stop_sequences`): a deleted customer receives nothing more from any sequence. */
  async stopCustomerSequences(customerId: string): Promise<void> {
    await asActivity(() => sequences.stopForCustomer(customerId));
  },
});
