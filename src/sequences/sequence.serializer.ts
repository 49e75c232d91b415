import { workflowIds } from '../../workflows/definitions.js';
import type { Sequence, SequenceEnrollment } from '../generated/prisma/client.js';
import type { ExitEvent } from './sequence.goals.js';
import type { EnrollmentObject, SequenceObject, SequenceStep } from './sequence.schemas.js';

export function serializeSequence(sequence: Sequence): SequenceObject {
  return {
    id: sequence.id,
    object: 'sequence',
    name: sequence.name,
    trigger_tag: sequence.triggerTag,
    exit_tag: sequence.exitTag,
    reentry: sequence.reentry,
    status: sequence.status,
    version: sequence.version,
    steps: (sequence.steps as unknown as SequenceStep[]).map((step) => ({ ...step, send_window: step.send_window ?? null })),
    exit_events: sequence.exitEvents as unknown as ExitEvent[],
    created: sequence.createdAt.toISOString(),
    updated: sequence.updatedAt.toISOString(),
    archived: sequence.archivedAt?.toISOString() ?? null,
  };
}

/** An enrolment with what its view needs: the sequence's name, its version's steps, its skipped messages. */
export type EnrollmentRow = SequenceEnrollment & {
  sequence: { name: string };
  definition: { steps: unknown };
  messages: { step: number | null; channel: 'email' | 'sms'; skipReason: string | null; createdAt: Date }[];
};

export const enrollmentInclude = {
  sequence: { select: { name: true } },
  definition: { select: { steps: true } },
  messages: {
    where: { status: 'skipped' as const },
    select: { step: true, channel: true, skipReason: true, createdAt: true },
    orderBy: { step: 'asc' as const },
  },
};

export function serializeEnrollment(enrollment: EnrollmentRow): EnrollmentObject {
  return {
    id: enrollment.id,
    object: 'sequence_enrollment',
    sequence_id: enrollment.sequenceId,
    sequence_name: enrollment.sequence.name,
    customer_id: enrollment.customerId,
    version: enrollment.version,
    status: enrollment.status,
    source: enrollment.source,
    current_step: enrollment.currentStep,
    steps_total: (enrollment.definition.steps as unknown[]).length,
    next_send_at: enrollment.status === 'active' || enrollment.status === 'pending_start' ? (enrollment.nextSendAt?.toISOString() ?? null) : null,
    exit_reason: enrollment.exitReason,
    converted_event_id: enrollment.convertedEventId,
    skipped_steps: enrollment.messages.map((message) => ({
      step: message.step ?? 0,
      channel: message.channel,
      reason: message.skipReason ?? 'skipped',
      at: message.createdAt.toISOString(),
    })),
    workflow_id: workflowIds.sequence(enrollment.sequenceId, enrollment.customerId),
    enrolled: enrollment.enrolledAt.toISOString(),
    started: enrollment.startedAt?.toISOString() ?? null,
    ended: enrollment.endedAt?.toISOString() ?? null,
  };
}
