import { WorkflowNotFoundError } from '@temporalio/client';
import { WORKFLOW_TYPES, sequenceEnrollmentsPendingSignal, sequenceStopSignal, workflowIds } from '../../workflows/definitions.js';
import type { CustomerService } from '../customers/customer.service.js';
import type { Db, DbTx, Prisma } from '../db.js';
import type { Sequence } from '../generated/prisma/client.js';
import type { Clock } from '../lib/clock.js';
import { mapWithConcurrency } from '../lib/concurrency.js';
import { ConflictError, NotFoundError, ValidationError, type FieldError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import type { Page, PaginationQuery } from '../lib/pagination.js';
import type { Scope, WriteContext } from '../lib/scope.js';
import type { Logger } from '../logger.js';
import { findSettings } from '../merchants/merchant-settings.store.js';
import type { QueueWorkflow, TemporalGateway } from '../temporal/gateway.js';
import type { MessageService } from '../messaging/message.service.js';
import type { MessageStore } from '../messaging/message.store.js';
import { smsSize } from '../messaging/sms-segments.js';
import type { SuppressionStore } from '../messaging/suppression.store.js';
import { templateContext, type StepRenderOutcome } from './sequence.render.js';
import { atStep, type SequenceRenderer } from './sequence.renderer.js';
import type { ExitEvent } from './sequence.goals.js';
import type {
  CreateSequenceBody,
  EnrollmentObject,
  ExitEventInput,
  ListEnrollmentsQuery,
  PreviewObject,
  SequenceObject,
  SequenceStep,
  UpdateSequenceBody,
} from './sequence.schemas.js';
import { serializeEnrollment, serializeSequence } from './sequence.serializer.js';
import type { Ended, SequenceEnrollmentStore } from './sequence-enrollment.store.js';
import type { SequenceStore } from './sequence.store.js';

const ENROLLER_QUEUE: QueueWorkflow = {
  workflowType: WORKFLOW_TYPES.sequenceEnroller,
  signal: sequenceEnrollmentsPendingSignal,
  name: 'a sequence enroller',
};

export interface SequenceServiceDeps {
  db: Db;
  store: SequenceStore;
  enrollments: SequenceEnrollmentStore;
  temporal: TemporalGateway;
  customers: CustomerService;
  messages: Pick<MessageService, 'unsubscribeUrl' | 'unavailableChannel'>;
  /** The customer's opt-outs, for the preview. */
  messageStore: Pick<MessageStore, 'optOutsOf'>;
  suppressions: Pick<SuppressionStore, 'suppressedChannels'>;
  /** Renders templates in worker threads, within the per-request and per-send budget. */
  renderer: SequenceRenderer;
  clock: Clock;
  logger: Logger;
}

/** The statuses of an enrolment that is not over. */
export const LIVE = new Set(['pending_start', 'active']);
/** Whom a definition is rendered for when it is saved, to refuse templates that exceed the limits. */
const SAMPLE_CUSTOMER = {
  id: 'cus_01SAMPLECUSTOMER000000000000',
  name: 'Sample Customer',
  email: 'sample.customer@example.com',
  phone: '+14155550123',
  metadata: {},
  timezone: 'UTC',
};

/**
 * Tag-triggered sequences: definitions (versioned: an enrolment keeps the version it started with)
 * and enrolments (at most one live per sequence and customer, by a partial unique index). The
 * event bus enrols and ends enrolments (sequence.reactions.ts); the `sequence:<sequence id>:<customer
 * id>` workflow runs the steps, one activity per step (sequence.steps.ts).
 */
export class SequenceService {
  constructor(private readonly deps: SequenceServiceDeps) {}

  // --- Definitions ---------------------------------------------------------------------------------

  async create(write: WriteContext<SequenceObject>, body: CreateSequenceBody): Promise<SequenceObject> {
    const steps = normalizeSteps(body.steps);
    validateTags(body.trigger_tag, body.exit_tag ?? null);
    await this.checkTemplates(steps, body.trigger_tag);
    return this.deps.db.$transaction(async (tx) => {
      const sequence = await this.deps.store.insert(tx, {
        id: newId('sequence'),
        merchantId: write.merchantId,
        environment: write.environment,
        name: body.name,
        triggerTag: body.trigger_tag,
        exitTag: body.exit_tag ?? null,
        reentry: body.reentry,
        steps: steps as unknown as Prisma.InputJsonArray,
        exitEvents: normalizeExitEvents(body.exit_events) as unknown as Prisma.InputJsonArray,
      });
      await this.deps.store.insertVersion(tx, sequence);
      const result = serializeSequence(sequence);
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  async list(scope: Scope, query: PaginationQuery & { status?: 'active' | 'archived' }): Promise<Page<SequenceObject>> {
    const where = { merchantId: scope.merchantId, environment: scope.environment, ...(query.status && { status: query.status }) };
    return this.deps.store.list(where, query, serializeSequence);
  }

  async get(scope: Scope, id: string): Promise<SequenceObject> {
    return serializeSequence(await this.find(this.deps.db, scope, id));
  }

  /** A change to the tags, steps or exit events is a new version; enrolments already running keep theirs. */
  async update(write: WriteContext<SequenceObject>, id: string, body: UpdateSequenceBody): Promise<SequenceObject> {
    // New steps are rendered before the transaction: no row lock is held while they render.
    if (body.steps) await this.checkTemplates(normalizeSteps(body.steps), body.trigger_tag ?? (await this.find(this.deps.db, write, id)).triggerTag);
    return this.deps.db.$transaction(async (tx) => {
      const current = await this.find(tx, write, id, { forUpdate: true });
      if (current.status === 'archived') throw new ConflictError(`Sequence ${id} is archived and cannot change`, 'id');
      const steps = body.steps ? normalizeSteps(body.steps) : (current.steps as unknown as SequenceStep[]);
      const triggerTag = body.trigger_tag ?? current.triggerTag;
      const exitTag = body.exit_tag === undefined ? current.exitTag : body.exit_tag;
      validateTags(triggerTag, exitTag);
      const exitEvents = body.exit_events ? normalizeExitEvents(body.exit_events) : (current.exitEvents as unknown as ExitEvent[]);
      const definitionChanged =
        triggerTag !== current.triggerTag ||
        exitTag !== current.exitTag ||
        JSON.stringify(steps) !== JSON.stringify(current.steps) ||
        JSON.stringify(exitEvents) !== JSON.stringify(current.exitEvents);
      const sequence = await this.deps.store.update(tx, current.id, {
        ...(body.name !== undefined && { name: body.name }),
        ...(body.reentry !== undefined && { reentry: body.reentry }),
        triggerTag,
        exitTag,
        steps: steps as unknown as Prisma.InputJsonArray,
        exitEvents: exitEvents as unknown as Prisma.InputJsonArray,
        ...(definitionChanged && { version: current.version + 1 }),
      });
      if (definitionChanged) await this.deps.store.insertVersion(tx, sequence);
      const result = serializeSequence(sequence);
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  /**
   * Archiving stops the sequence: no new enrolments, and live ones end before their next send
   * (each send re-checks; their workflows end when they next wake). Repeating it changes nothing.
   */
  async archive(write: WriteContext<SequenceObject>, id: string): Promise<SequenceObject> {
    return this.deps.db.$transaction(async (tx) => {
      const current = await this.find(tx, write, id, { forUpdate: true });
      const sequence =
        current.status === 'archived' ? current : await this.deps.store.update(tx, current.id, { status: 'archived', archivedAt: this.deps.clock.now() });
      await this.deps.enrollments.exitLiveOfSequence(tx, sequence.id, this.deps.clock.now());
      const result = serializeSequence(sequence);
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  /**
   * Every step rendered for one customer now, with whether it could be delivered and why not. All
   * steps share one render budget; a step over a limit (a part too large, the budget spent) is 400
   * naming it.
   */
  async preview(scope: Scope, id: string, customerId: string): Promise<PreviewObject> {
    const sequence = await this.find(this.deps.db, scope, id);
    const customer = await this.deps.customers.find(this.deps.db, scope, customerId);
    const [merchant, optOuts, suppressed] = await Promise.all([
      findSettings(this.deps.db, scope),
      this.deps.messageStore.optOutsOf(customer.id),
      this.deps.suppressions.suppressedChannels(scope, customer),
    ]);
    const definition = sequence.steps as unknown as SequenceStep[];
    const context = templateContext(customer, merchant);
    const unsubscribeUrl = this.deps.messages.unsubscribeUrl(customer.id, 'email');
    const budget = this.deps.renderer.budget();
    const outcomes: StepRenderOutcome[] = [];
    const overLimits: FieldError[] = [];
    for (const [index, step] of definition.entries()) {
      const outcome = await budget.render(step, context, unsubscribeUrl);
      outcomes.push(outcome);
      if (!outcome.ok && outcome.kind === 'limit') overLimits.push(...atStep(index, outcome.errors));
      // The step where the budget ran out is named; the ones after it are not rendered.
      if (!outcome.ok && budget.exhausted) break;
    }
    if (overLimits.length > 0) throw new ValidationError(overLimits);
    return {
      object: 'sequence_preview',
      sequence_id: sequence.id,
      version: sequence.version,
      customer_id: customer.id,
      steps: definition.map((step, index) => {
        const recipient = step.channel === 'email' ? customer.email : customer.phone;
        const skipReason =
          this.deps.messages.unavailableChannel(step.channel) ??
          skipReasonFor(step.channel, recipient, {
            optedOut: optOuts.some((optOut) => optOut.channel === step.channel),
            suppressed: suppressed.has(step.channel),
          });
        const base = {
          step: index,
          channel: step.channel,
          delay: step.delay,
          send_window: step.send_window ?? null,
          recipient,
          deliverable: skipReason === null,
          skip_reason: skipReason,
        };
        const outcome = outcomes[index]!;
        if (!outcome.ok) return { ...base, deliverable: false, error: outcome.errors.map((error) => error.message).join('; ') };
        const { rendered } = outcome;
        return rendered.channel === 'email'
          ? { ...base, subject: rendered.subject, html: rendered.html, text: rendered.text }
          : { ...base, body: rendered.body, segments: smsSize(rendered.body).segments };
      }),
    };
  }

  // --- Enrolments ------------------------------------------------------------------------------------

  /**
   * Enrols a customer by hand. A manual enrolment does not depend on the trigger tag; the exit tag,
   * an unsubscribe, the customer's deletion and DELETE end it. 409 when the customer is in the
   * sequence already, went through it and the sequence is `once`, or has its exit tag.
   */
  async enroll(write: WriteContext<EnrollmentObject>, sequenceId: string, customerId: string): Promise<EnrollmentObject> {
    const enrollment = await this.deps.db.$transaction(async (tx) => {
      const sequence = await this.find(tx, write, sequenceId);
      if (sequence.status !== 'active') throw new ConflictError(`Sequence ${sequenceId} is archived`, 'id');
      const customer = await this.deps.customers.find(tx, write, customerId);
      if (customer.status !== 'active') throw new ConflictError(`Customer ${customerId} is being deleted`, 'customer_id');
      if (sequence.exitTag && customer.tags.includes(sequence.exitTag)) {
        throw new ConflictError(`Customer ${customerId} has the exit tag '${sequence.exitTag}'`, 'customer_id');
      }
      const previous = await this.deps.enrollments.latestEnrollment(tx, sequenceId, customerId);
      if (previous && LIVE.has(previous.status)) {
        throw new ConflictError(`Customer ${customerId} is in sequence ${sequenceId} already`, 'customer_id', { enrollment_id: previous.id });
      }
      if (previous && sequence.reentry === 'once') {
        throw new ConflictError(`Customer ${customerId} went through sequence ${sequenceId} already and it allows one enrolment`, 'customer_id', {
          enrollment_id: previous.id,
        });
      }
      const id = newId('enrollment');
      // The unique index settles a concurrent enrolment: it simply inserts nothing here.
      const inserted = await this.deps.enrollments.insertManualEnrollment(tx, {
        id,
        merchantId: write.merchantId,
        environment: write.environment,
        sequenceId,
        version: sequence.version,
        customerId,
        enrolledAt: this.deps.clock.now(),
      });
      if (!inserted) throw new ConflictError(`Customer ${customerId} is in sequence ${sequenceId} already`, 'customer_id');
      const result = serializeEnrollment(await this.deps.enrollments.enrollmentView(tx, id));
      await write.commitReply?.(tx, result);
      return result;
    });
    // The enroller starts it; if Temporal does not answer now, the reconciler nudges it again.
    await this.nudgeEnrollers([{ id: sequenceId, merchantId: write.merchantId }], { deadline: true });
    return enrollment;
  }

  /** Ends a customer's live enrolment (`removed`); its workflow stops before the next send. */
  async unenroll(write: WriteContext<EnrollmentObject>, sequenceId: string, customerId: string): Promise<EnrollmentObject> {
    const enrollment = await this.deps.db.$transaction(async (tx) => {
      await this.find(tx, write, sequenceId);
      const live = await this.deps.enrollments.findLive(tx, write, sequenceId, customerId);
      if (!live) throw new NotFoundError(`live enrolment in sequence ${sequenceId} of customer`, customerId, 'customer_id');
      const ended = await this.deps.enrollments.exit(tx, live.id, 'removed', this.deps.clock.now());
      const result = serializeEnrollment(ended);
      await write.commitReply?.(tx, result);
      return { result, wasActive: live.status === 'active' };
    });
    if (enrollment.wasActive) {
      await this.signalStops([{ id: enrollment.result.id, sequenceId, customerId, wasActive: true }], { deadline: true });
    }
    return enrollment.result;
  }

  async listForCustomer(scope: Scope, customerId: string, query: ListEnrollmentsQuery): Promise<Page<EnrollmentObject>> {
    const customer = await this.deps.customers.find(this.deps.db, scope, customerId);
    return this.deps.enrollments.listEnrollments({ customerId: customer.id, ...(query.status && { status: query.status }) }, query, serializeEnrollment);
  }

  async listForSequence(scope: Scope, sequenceId: string, query: ListEnrollmentsQuery): Promise<Page<EnrollmentObject>> {
    const sequence = await this.find(this.deps.db, scope, sequenceId);
    return this.deps.enrollments.listEnrollments({ sequenceId: sequence.id, ...(query.status && { status: query.status }) }, query, serializeEnrollment);
  }

  /** The deletion saga's step: every live enrolment of the customer ends, whatever its state. Safe to repeat. */
  async stopForCustomer(customerId: string): Promise<void> {
    await this.signalStops(await this.deps.enrollments.exitAllOfCustomer(customerId, this.deps.clock.now()));
  }

  /**
   * Wakes each sequence's enroller (`sequence-enroller:<id>`), starting it if needed; the signal
   * carries nothing. A nudge that fails is repaired by the pending-enrolment reconciler.
   */
  async nudgeEnrollers(sequences: { id: string; merchantId: string }[], options: { deadline?: boolean } = {}): Promise<void> {
    await this.deps.temporal.nudgeQueues(
      ENROLLER_QUEUE,
      sequences.map((sequence) => ({ workflowId: workflowIds.sequenceEnroller(sequence.id), input: { sequenceId: sequence.id }, merchantId: sequence.merchantId })),
      options,
    );
  }

  /** Tells the workflows of ended enrolments to stop now rather than at their next wake-up. */
  async signalStops(ended: Ended[], options: { deadline?: boolean } = {}): Promise<void> {
    await mapWithConcurrency(
      ended.filter((enrollment) => enrollment.wasActive),
      20,
      async (enrollment) => {
        try {
          await this.deps.temporal.signal(workflowIds.sequence(enrollment.sequenceId, enrollment.customerId), sequenceStopSignal, [enrollment.id], options);
        } catch (error) {
          // The database already says it ended: the workflow finds out at its next step anyway.
          if (!(error instanceof WorkflowNotFoundError)) this.deps.logger.debug({ err: error, enrollmentId: enrollment.id }, 'stop signal not delivered');
        }
      },
    );
  }

  /** Housekeeping: enrollers whose pending enrolments have waited too long lost their nudge. */
  async reconcilePending(olderThanMs: number): Promise<number> {
    const now = this.deps.clock.now();
    const sequences = await this.deps.enrollments.withStalePending(new Date(now.getTime() - olderThanMs), now);
    if (sequences.length > 0) await this.nudgeEnrollers(sequences);
    return sequences.length;
  }

  // --- Helpers -----------------------------------------------------------------------------------------

  /** Templates that do not parse, or that exceed the render limits for a sample customer, are refused. */
  private async checkTemplates(steps: SequenceStep[], triggerTag: string): Promise<void> {
    const context = templateContext({ ...SAMPLE_CUSTOMER, tags: [triggerTag] }, { name: 'Sample merchant' });
    await this.deps.renderer.check(steps, context, this.deps.messages.unsubscribeUrl(SAMPLE_CUSTOMER.id, 'email'));
  }

  private async find(db: Db | DbTx, scope: Scope, id: string, options: { forUpdate?: boolean } = {}): Promise<Sequence> {
    const sequence = await this.deps.store.find(scope, id, options, db);
    if (!sequence) throw new NotFoundError('sequence', id, 'id');
    return sequence;
  }
}

/** Why a step cannot be delivered to this customer, if so: no address, an opt-out, a suppressed address. */
export function skipReasonFor(channel: 'email' | 'sms', recipient: string | null, optOut: { optedOut: boolean; suppressed: boolean }): string | null {
  if (!recipient) return channel === 'email' ? 'no email address' : 'no phone number';
  if (optOut.optedOut) return `unsubscribed from ${channel}`;
  // The address opted out, possibly as another (since deleted) customer.
  if (optOut.suppressed) return `${channel === 'email' ? 'email address' : 'phone number'} on the suppression list`;
  return null;
}

function validateTags(triggerTag: string, exitTag: string | null): void {
  if (exitTag !== null && exitTag === triggerTag) throw ValidationError.field('exit_tag', 'exit_tag must differ from trigger_tag');
}

/**
 * Goals are stored as the API shows them, every match field explicit (null: any), in the key order
 * jsonb keeps, so an unchanged list compares equal to the stored one.
 */
function normalizeExitEvents(goals: ExitEventInput[]): ExitEvent[] {
  return goals.map((goal) => ({ type: goal.type, match: { currency: goal.match?.currency ?? null, min_amount: goal.match?.min_amount ?? null } }));
}

/** Steps are stored as the API shows them, with an explicit null window. */
function normalizeSteps(steps: SequenceStep[]): SequenceStep[] {
  return steps.map((step) => ({ ...step, send_window: step.send_window ?? null }));
}
