// What the enrolments' store (SequenceEnrollmentStore) reads and returns: kept beside it, so the
// store itself stays the enrolments' SQL.

/** What a step needs of its enrolment, version, customer and merchant: read in one query. */
export interface StepRun {
  id: string;
  status: string;
  currentStep: number;
  stepDueAt: Date | null;
  enrolledAt: Date;
  startedAt: Date | null;
  nextSendAt: Date | null;
  exitReason: string | null;
  merchantId: string;
  environment: 'sandbox' | 'live';
  sequenceId: string;
  version: number;
  steps: unknown;
  customerId: string;
  name: string | null;
  email: string | null;
  phone: string | null;
  metadata: unknown;
  tags: string[] | null;
  timezone: string | null;
  merchantName: string;
  merchantTimezone: string;
  merchantSupportEmail: string | null;
}

/** One due step of an enrolment: the workflow's input, its message's key. */
export interface StepInput {
  enrollmentId: string;
  step: number;
  key: string;
}

/** What the claim of a due step found, under the enrolment's row lock (see claimStep). */
export interface StepClaim {
  status: string;
  currentStep: number;
  reason: string | null;
  email: string | null;
  phone: string | null;
  optedOut: boolean;
  suppressed: boolean;
  existingId: string | null;
  existingStatus: string | null;
  insertedId: string | null;
}

/** An enrolment moved past a step: to the next one (due then, expected to go out then), or completed. */
export interface StepMove {
  step: number;
  completed: boolean;
  stepDueAt: Date | null;
  nextSendAt: Date | null;
  at: Date;
}

/** A live enrolment that was just ended: its workflow is told to stop. */
export interface Ended {
  id: string;
  sequenceId: string;
  customerId: string;
  wasActive: boolean;
}

/** An enrolment of a customer who gained a trigger tag, at the moment of the event. */
export interface TagEnrollment {
  id: string;
  sequenceId: string;
  customerId: string;
  at: Date;
}
