import { Context } from '@temporalio/activity';
import { SEQUENCE_STEP_ATTEMPTS, type EnrollerPass, type SequenceStepResult } from '../workflows/definitions.js';
import type { Config } from '../src/config.js';
import type { Clock } from '../src/lib/clock.js';
import type { Logger } from '../src/logger.js';
import type { MessageService } from '../src/messaging/message.service.js';
import type { MessageStore } from '../src/messaging/message.store.js';
import type { SequenceRenderer } from '../src/sequences/sequence.renderer.js';
import type { SequenceService } from '../src/sequences/sequence.service.js';
import { SequenceSteps } from '../src/sequences/sequence.steps.js';
import type { SequenceEnrollmentStore } from '../src/sequences/sequence-enrollment.store.js';
import type { TemporalGateway } from '../src/temporal/gateway.js';
import { asActivity } from './failures.js';

export interface SequenceActivityDeps {
  stores: { sequenceEnrollments: SequenceEnrollmentStore; messages: MessageStore };
  sequences: Pick<SequenceService, 'stopForCustomer'>;
  messages: Pick<MessageService, 'send' | 'sendingColumns' | 'unavailableChannel' | 'unsubscribeUrl'>;
  renderer: SequenceRenderer;
  temporal: TemporalGateway;
  clock: Clock;
  logger: Logger;
  config: Pick<Config, 'SEQUENCE_START_RATE'>;
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

export const createSequenceActivities = (deps: SequenceActivityDeps) => {
  const steps = new SequenceSteps({
    store: deps.stores.sequenceEnrollments,
    messageStore: deps.stores.messages,
    messages: deps.messages,
    renderer: deps.renderer,
    temporal: deps.temporal,
    clock: deps.clock,
    logger: deps.logger,
    startRate: deps.config.SEQUENCE_START_RATE,
  });
  return {
    /** One step of an enrolment: wait longer, or send (at most once per key) and move on. */
    async runSequenceStep(input: { enrollmentId: string; step: number; key: string }): Promise<SequenceStepResult> {
      const finalAttempt = Context.current().info.attempt >= SEQUENCE_STEP_ATTEMPTS;
      return withHeartbeat(() => asActivity(() => steps.runStep(input, { finalAttempt })));
    },
    /** One enroller pass: start the workflows of a batch of pending enrolments. */
    async startPendingEnrollments(sequenceId: string, paceUntil: number): Promise<EnrollerPass> {
      const context = Context.current();
      return asActivity(() => steps.startPending(sequenceId, paceUntil, () => context.heartbeat()));
    },
    /** Deletion saga (`stop_sequences`): a deleted customer receives nothing more from any sequence. */
    async stopCustomerSequences(customerId: string): Promise<void> {
      await asActivity(() => deps.sequences.stopForCustomer(customerId));
    },
  };
};
