import { WorkflowNotFoundError } from '@temporalio/client';
import {
  SEARCH_ATTRIBUTES,
  WORKFLOW_TYPES,
  sequenceEnrollSignal,
  sequenceEnrollmentsPendingSignal,
  sequenceStopSignal,
  workflowIds,
  type EnrollerPass,
  type SequenceStepResult,
} from '../../workflows/definitions.js';
import type { CustomerService } from '../customers/customer.service.js';
import { Prisma, type Db, type DbTx } from '../db.js';
import type { BusEvent } from '../events/event-bus.js';
import type { Sequence } from '../generated/prisma/client.js';
import type { Clock } from '../lib/clock.js';
import { mapWithConcurrency } from '../lib/concurrency.js';
import { ConflictError, NotFoundError, ValidationError, type FieldError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { paginate, type ListableModel, type Page, type PaginationQuery } from '../lib/pagination.js';
import type { Scope, WriteContext } from '../lib/scope.js';
import type { Logger } from '../logger.js';
import { findSettings } from '../merchants/merchant-settings.store.js';
import type { QueueWorkflow, TemporalGateway } from '../temporal/gateway.js';
import type { MessageContent, MessageService } from '../messaging/message.service.js';
import { INTERRUPTED, type MessageStore, type StepMessage, type Unsent } from '../messaging/message.store.js';
import { smsSize } from '../messaging/sms-segments.js';
import type { SuppressionStore } from '../messaging/suppression.store.js';
import { parseDuration } from '../lib/duration.js';
import { nextSendTime, parseSendWindow, type SendWindow } from './send-window.js';
import { templateContext, type RenderedStep, type StepRenderOutcome } from './sequence.render.js';
import { atStep, type SequenceRenderer } from './sequence.renderer.js';

/** What a step needs of its enrolment, version, customer and merchant: read in one query. */
interface StepRun {
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
}
import type {
  CreateSequenceBody,
  EnrollmentObject,
  ListEnrollmentsQuery,
  PreviewObject,
  SequenceObject,
  SequenceStep,
  UpdateSequenceBody,
} from './sequence.schemas.js';
import { enrollmentInclude, serializeEnrollment, serializeSequence, type EnrollmentRow } from './sequence.serializer.js';

const ENROLLER_QUEUE: QueueWorkflow = {
  workflowType: WORKFLOW_TYPES.sequenceEnroller,
  signal: sequenceEnrollmentsPendingSignal,
  name: 'a sequence enroller',
};

export interface SequenceServiceDeps {
  db: Db;
  temporal: TemporalGateway;
  customers: CustomerService;
  messages: MessageService;
  /** The messages table's writer: a step's claim and outcome are its fragments. */
  messageStore: MessageStore;
  suppressions: SuppressionStore;
  /** Renders templates in worker threads, within the per-request and per-send budget. */
  renderer: SequenceRenderer;
  clock: Clock;
  logger: Logger;
  /** Sequence workflows the enroller starts per second at most (start delays spread a burst). */
  startRate: number;
  /** Pending enrolments one enroller pass claims, and how many workflow starts it has in flight. */
  enrollBatch?: number;
  startConcurrency?: number;
}

/** A live enrolment that was just ended: its workflow is told to stop. */
interface Ended {
  id: string;
  sequenceId: string;
  customerId: string;
  wasActive: boolean;
}

const LIVE = new Set(['pending_start', 'active']);
/** An enroller's claim on pending enrolments: long enough for a pass, short enough to recover soon. */
const START_CLAIM_MS = 60_000;
/** A retried step after a send that certainly did not happen: when the message may go again. */
const RETRY_AFTER_MS = 1_000;
/** Whom a definition is rendered for when it is saved, to refuse templates that exceed the limits. */
const SAMPLE_CUSTOMER = {
  id: 'cus_01SAMPLECUSTOMER000000000000',
  name: 'Sample Customer',
  email: 'sample.customer@example.com',
  phone: '+14155550123',
  metadata: {},
  timezone: 'UTC',
};

/** When a step goes out: its delay and send window (its templates are rendered in the render threads). */
interface StepPlan {
  channel: 'email' | 'sms';
  delayMs: number;
  window: SendWindow | null;
}

/**
 * Why a live enrolment may not go on, from the current state of its customer, sequence, the
 * version it runs, the customer's opt-outs and the suppression list; NULL while it may. One
 * expression, used by the event bus (set-based, for a batch of customers) and by every send (for
 * one enrolment, under its row lock), so both always agree. Aliases: e enrolment, v its version,
 * s sequence, c customer.
 */
function exitReasonSql(suppressions: SuppressionStore): Prisma.Sql {
  const stepChannel = Prisma.sql`st.step->>'channel'`;
  const suppressed = suppressions.matches({
    merchantId: Prisma.sql`c.merchant_id`,
    environment: Prisma.sql`c.environment`,
    channel: stepChannel,
    address: Prisma.sql`CASE ${stepChannel} WHEN 'email' THEN c.email ELSE c.phone END`,
  });
  return Prisma.sql`CASE
  WHEN c.status <> 'active' THEN 'customer_deleted'
  WHEN s.status <> 'active' THEN 'sequence_archived'
  WHEN e.source = 'tag' AND NOT (v.trigger_tag = ANY(coalesce(c.tags, '{}'))) THEN 'tag_removed'
  WHEN v.exit_tag IS NOT NULL AND v.exit_tag = ANY(coalesce(c.tags, '{}')) THEN 'exit_tag'
  WHEN e.current_step < jsonb_array_length(v.steps) AND NOT EXISTS (
    SELECT 1 FROM jsonb_array_elements(v.steps) WITH ORDINALITY AS st(step, n)
    WHERE st.n > e.current_step
      AND NOT EXISTS (SELECT 1 FROM message_opt_outs o WHERE o.customer_id = e.customer_id AND o.channel::text = ${stepChannel})
      AND NOT ${suppressed})
    THEN 'unsubscribed'
END`;
}

/**
 * Tag-triggered sequences: definitions (versioned: an enrolment keeps the version it started with),
 * enrolments (at most one live per sequence and customer, by a partial unique index), and the
 * steps the `sequence:<sequence id>:<customer id>` workflow runs, one activity per step.
 */
export class SequenceService {
  private readonly enrollBatch: number;
  private readonly startConcurrency: number;
  /** See exitReasonSql. */
  private readonly exitReason: Prisma.Sql;

  constructor(private readonly deps: SequenceServiceDeps) {
    this.enrollBatch = deps.enrollBatch ?? 500;
    this.startConcurrency = deps.startConcurrency ?? 64;
    this.exitReason = exitReasonSql(deps.suppressions);
  }

  // --- Definitions ---------------------------------------------------------------------------------

  async create(write: WriteContext<SequenceObject>, body: CreateSequenceBody): Promise<SequenceObject> {
    const steps = normalizeSteps(body.steps);
    validateTags(body.trigger_tag, body.exit_tag ?? null);
    await this.checkTemplates(steps, body.trigger_tag);
    return this.deps.db.$transaction(async (tx) => {
      const sequence = await tx.sequence.create({
        data: {
          id: newId('sequence'),
          merchantId: write.merchantId,
          environment: write.environment,
          name: body.name,
          triggerTag: body.trigger_tag,
          exitTag: body.exit_tag ?? null,
          reentry: body.reentry,
          steps: steps as unknown as Prisma.InputJsonArray,
        },
      });
      await this.recordVersion(tx, sequence);
      const result = serializeSequence(sequence);
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  async list(scope: Scope, query: PaginationQuery & { status?: 'active' | 'archived' }): Promise<Page<SequenceObject>> {
    const where = { merchantId: scope.merchantId, environment: scope.environment, ...(query.status && { status: query.status }) };
    return paginate(this.deps.db.sequence, where, query, serializeSequence);
  }

  async get(scope: Scope, id: string): Promise<SequenceObject> {
    return serializeSequence(await this.find(this.deps.db, scope, id));
  }

  /** A change to the tags or steps is a new version; enrolments already running keep theirs. */
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
      const definitionChanged =
        triggerTag !== current.triggerTag || exitTag !== current.exitTag || JSON.stringify(steps) !== JSON.stringify(current.steps);
      const sequence = await tx.sequence.update({
        where: { id: current.id },
        data: {
          ...(body.name !== undefined && { name: body.name }),
          ...(body.reentry !== undefined && { reentry: body.reentry }),
          triggerTag,
          exitTag,
          steps: steps as unknown as Prisma.InputJsonArray,
          ...(definitionChanged && { version: current.version + 1 }),
        },
      });
      if (definitionChanged) await this.recordVersion(tx, sequence);
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
        current.status === 'archived'
          ? current
          : await tx.sequence.update({ where: { id: current.id }, data: { status: 'archived', archivedAt: this.deps.clock.now() } });
      await tx.sequenceEnrollment.updateMany({
        where: { sequenceId: sequence.id, status: { in: ['pending_start', 'active'] } },
        data: { status: 'exited', exitReason: 'sequence_archived', endedAt: this.deps.clock.now(), nextSendAt: null },
      });
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

  // --- Enrolments: the API ---------------------------------------------------------------------------

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
      const previous = await tx.sequenceEnrollment.findFirst({ where: { sequenceId, customerId }, orderBy: { id: 'desc' } });
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
      const inserted = await tx.$executeRaw`
        INSERT INTO sequence_enrollments (id, merchant_id, environment, sequence_id, version, customer_id, source, enrolled_at, updated_at)
        VALUES (${id}, ${write.merchantId}, ${write.environment}::"Environment", ${sequenceId}, ${sequence.version}, ${customerId},
          'manual', ${this.deps.clock.now()}, now())
        ON CONFLICT (sequence_id, customer_id) WHERE status IN ('pending_start', 'active') DO NOTHING`;
      if (inserted === 0) throw new ConflictError(`Customer ${customerId} is in sequence ${sequenceId} already`, 'customer_id');
      const result = serializeEnrollment(await tx.sequenceEnrollment.findUniqueOrThrow({ where: { id }, include: enrollmentInclude }));
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
      const live = await tx.sequenceEnrollment.findFirst({
        where: { sequenceId, customerId, merchantId: write.merchantId, environment: write.environment, status: { in: ['pending_start', 'active'] } },
      });
      if (!live) throw new NotFoundError(`live enrolment in sequence ${sequenceId} of customer`, customerId, 'customer_id');
      const ended = await tx.sequenceEnrollment.update({
        where: { id: live.id },
        data: { status: 'exited', exitReason: 'removed', endedAt: this.deps.clock.now(), nextSendAt: null },
        include: enrollmentInclude,
      });
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
    return this.listEnrollments({ customerId: customer.id, ...(query.status && { status: query.status }) }, query);
  }

  async listForSequence(scope: Scope, sequenceId: string, query: ListEnrollmentsQuery): Promise<Page<EnrollmentObject>> {
    const sequence = await this.find(this.deps.db, scope, sequenceId);
    return this.listEnrollments({ sequenceId: sequence.id, ...(query.status && { status: query.status }) }, query);
  }

  private listEnrollments(where: Prisma.SequenceEnrollmentWhereInput, query: PaginationQuery): Promise<Page<EnrollmentObject>> {
    const { db } = this.deps;
    const model: ListableModel<Prisma.SequenceEnrollmentWhereInput, EnrollmentRow> = {
      count: (args) => db.sequenceEnrollment.count(args),
      findMany: (args) => db.sequenceEnrollment.findMany({ ...args, include: enrollmentInclude }),
    };
    return paginate(model, where, query, serializeEnrollment);
  }

  // --- Enrolments: the event bus -------------------------------------------------------------------

  /**
   * In the relay's transaction, for a batch of customer events: ends the live enrolments their
   * customers' current state no longer allows (tag lost, exit tag, unsubscribed, deleted), then
   * enrols the customers who gained a trigger tag (current state again: a tag gained and lost
   * before the relay enrols nobody). Set-based: a batch of 500 tag events costs a few statements.
   * Returns what to do after the commit: wake the enrollers, stop the ended workflows.
   */
  async applyEvents(tx: DbTx, events: BusEvent[]): Promise<(() => Promise<void>) | undefined> {
    const customerIds = [...new Set(events.flatMap((event) => (event.customerId ? [event.customerId] : [])))];
    const ended = await this.endIneligible(tx, customerIds);
    const added = events.filter((event) => event.type === 'customer.tag_added' && event.customerId && typeof event.data.tag === 'string');
    const enrolled = added.length > 0 ? await this.enrollTagged(tx, added) : [];
    if (ended.length === 0 && enrolled.length === 0) return undefined;
    return async () => {
      await Promise.all([this.nudgeEnrollers(enrolled), this.signalStops(ended)]);
    };
  }

  private async enrollTagged(tx: DbTx, events: BusEvent[]): Promise<{ id: string; merchantId: string }[]> {
    const tenants = [...new Map(events.map((event) => [`${event.merchantId}:${event.environment}`, event])).values()];
    const sequences = await tx.sequence.findMany({
      where: {
        status: 'active',
        triggerTag: { in: [...new Set(events.map((event) => event.data.tag as string))] },
        OR: tenants.map((tenant) => ({ merchantId: tenant.merchantId, environment: tenant.environment })),
      },
      select: { id: true, merchantId: true, environment: true, triggerTag: true, createdAt: true },
    });
    if (sequences.length === 0) return [];
    const rows = events.flatMap((event) =>
      sequences
        .filter(
          (sequence) =>
            sequence.merchantId === event.merchantId &&
            sequence.environment === event.environment &&
            sequence.triggerTag === event.data.tag &&
            // A sequence enrols those who gain its tag from its creation on, not before.
            event.createdAt >= sequence.createdAt,
        )
        .map((sequence) => ({ id: newId('enrollment'), sequenceId: sequence.id, customerId: event.customerId!, at: event.createdAt })),
    );
    if (rows.length === 0) return [];
    const inserted = await tx.$queryRaw<{ sequence_id: string; merchant_id: string }[]>`
      INSERT INTO sequence_enrollments (id, merchant_id, environment, sequence_id, version, customer_id, source, enrolled_at, updated_at)
      SELECT DISTINCT ON (s.id, c.id) i.id, s.merchant_id, s.environment, s.id, s.version, c.id, 'tag', i.at, now()
      FROM unnest(${rows.map((row) => row.id)}::text[], ${rows.map((row) => row.sequenceId)}::text[],
                  ${rows.map((row) => row.customerId)}::text[], ${rows.map((row) => row.at)}::timestamptz[]) AS i(id, sequence_id, customer_id, at)
      JOIN sequences s ON s.id = i.sequence_id AND s.status = 'active'
      JOIN customers c ON c.id = i.customer_id AND c.merchant_id = s.merchant_id AND c.environment = s.environment
        AND c.status = 'active' AND s.trigger_tag = ANY(coalesce(c.tags, '{}'))
        AND (s.exit_tag IS NULL OR NOT s.exit_tag = ANY(coalesce(c.tags, '{}')))
      WHERE s.reentry = 'after_exit'
        OR NOT EXISTS (SELECT 1 FROM sequence_enrollments p WHERE p.sequence_id = s.id AND p.customer_id = c.id)
      ORDER BY s.id, c.id, i.at
      ON CONFLICT (sequence_id, customer_id) WHERE status IN ('pending_start', 'active') DO NOTHING
      RETURNING sequence_id, merchant_id`;
    return [...new Map(inserted.map((row) => [row.sequence_id, { id: row.sequence_id, merchantId: row.merchant_id }])).values()];
  }

  /** Ends the live enrolments of these customers that may not go on (see exitReasonSql). */
  private async endIneligible(tx: DbTx, customerIds: string[]): Promise<Ended[]> {
    if (customerIds.length === 0) return [];
    const rows = await tx.$queryRaw<{ id: string; sequence_id: string; customer_id: string; was: string }[]>`
      WITH candidates AS (
        SELECT e.id, e.status::text AS was, ${this.exitReason} AS reason
        FROM sequence_enrollments e
        JOIN sequence_versions v ON v.sequence_id = e.sequence_id AND v.version = e.version
        JOIN sequences s ON s.id = e.sequence_id
        JOIN customers c ON c.id = e.customer_id
        WHERE e.customer_id = ANY(${customerIds}::text[]) AND e.status IN ('pending_start', 'active')
      )
      UPDATE sequence_enrollments e
      SET status = 'exited', exit_reason = candidates.reason, ended_at = ${this.deps.clock.now()}, next_send_at = NULL, updated_at = now()
      FROM candidates
      WHERE e.id = candidates.id AND candidates.reason IS NOT NULL AND e.status IN ('pending_start', 'active')
      RETURNING e.id, e.sequence_id, e.customer_id, candidates.was`;
    return rows.map((row) => ({ id: row.id, sequenceId: row.sequence_id, customerId: row.customer_id, wasActive: row.was === 'active' }));
  }

  /** The deletion saga's step: every live enrolment of the customer ends, whatever its state. Safe to repeat. */
  async stopForCustomer(customerId: string): Promise<void> {
    const rows = await this.deps.db.$queryRaw<{ id: string; sequence_id: string; customer_id: string; was: string }[]>`
      UPDATE sequence_enrollments e
      SET status = 'exited', exit_reason = 'customer_deleted', ended_at = ${this.deps.clock.now()}, next_send_at = NULL, updated_at = now()
      FROM (SELECT id, status::text AS was FROM sequence_enrollments WHERE customer_id = ${customerId} AND status IN ('pending_start', 'active')) old
      WHERE e.id = old.id AND e.status IN ('pending_start', 'active')
      RETURNING e.id, e.sequence_id, e.customer_id, old.was`;
    await this.signalStops(rows.map((row) => ({ id: row.id, sequenceId: row.sequence_id, customerId: row.customer_id, wasActive: row.was === 'active' })));
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
  private async signalStops(ended: Ended[], options: { deadline?: boolean } = {}): Promise<void> {
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
    const sequences = await this.deps.db.$queryRaw<{ id: string; merchantId: string }[]>`
      SELECT DISTINCT e.sequence_id AS id, e.merchant_id AS "merchantId"
      FROM sequence_enrollments e
      WHERE e.status = 'pending_start' AND e.enrolled_at < ${new Date(now.getTime() - olderThanMs)}
        AND (e.start_claimed_until IS NULL OR e.start_claimed_until < ${now})`;
    if (sequences.length > 0) await this.nudgeEnrollers(sequences);
    return sequences.length;
  }

  // --- Activities ------------------------------------------------------------------------------------

  /**
   * One enroller pass: claims a batch of pending enrolments and starts (or signals) their workflows
   * with bounded concurrency. Starts are paced at `startRate` per second with start delays plus
   * jitter, so a bulk tagging becomes a steady stream of workflow tasks rather than a burst.
   */
  async startPending(sequenceId: string, paceUntil: number, heartbeat?: () => void): Promise<EnrollerPass> {
    const now = this.deps.clock.now().getTime();
    const claimed = await this.deps.db.$queryRaw<{ id: string; customer_id: string; merchant_id: string }[]>`
      UPDATE sequence_enrollments SET start_claimed_until = ${new Date(now + START_CLAIM_MS)}
      WHERE id IN (
        SELECT id FROM sequence_enrollments
        WHERE sequence_id = ${sequenceId} AND status = 'pending_start'
          AND (start_claimed_until IS NULL OR start_claimed_until < ${new Date(now)})
        ORDER BY enrolled_at, id
        LIMIT ${this.enrollBatch}
        FOR UPDATE SKIP LOCKED)
      RETURNING id, customer_id, merchant_id`;
    const interval = 1000 / this.deps.startRate;
    const firstSlot = Math.max(paceUntil, now);
    const started = await mapWithConcurrency(claimed, this.startConcurrency, async (row, index) => {
      const startDelay = Math.round(firstSlot + index * interval + Math.random() * interval - now);
      try {
        await this.deps.temporal.signalWithStart(
          WORKFLOW_TYPES.sequence,
          {
            workflowId: workflowIds.sequence(sequenceId, row.customer_id),
            args: [{ enrollmentId: row.id }],
            signal: sequenceEnrollSignal,
            signalArgs: [row.id],
            // Within the first second of slots a run starts at once: a delay only spreads a burst.
            ...(startDelay >= 1_000 && { startDelay }),
            typedSearchAttributes: [
              { key: SEARCH_ATTRIBUTES.customerId, value: row.customer_id },
              { key: SEARCH_ATTRIBUTES.merchantId, value: row.merchant_id },
            ],
          },
          { deadline: false },
        );
        if (index % 50 === 0) heartbeat?.();
        return row.id;
      } catch (error) {
        this.deps.logger.warn({ err: error, enrollmentId: row.id }, 'could not start a sequence workflow; the next pass will');
        return undefined;
      }
    });
    const ok = started.filter((id): id is string => id !== undefined);
    const startedIds = new Set(ok);
    const failed = claimed.map((row) => row.id).filter((id) => !startedIds.has(id));
    await this.deps.db.$transaction([
      this.deps.db.sequenceEnrollment.updateMany({
        where: { id: { in: ok }, status: 'pending_start' },
        data: { status: 'active', startedAt: new Date(now), startClaimedUntil: null },
      }),
      this.deps.db.sequenceEnrollment.updateMany({ where: { id: { in: failed } }, data: { startClaimedUntil: null } }),
    ]);
    return { started: ok.length, more: claimed.length === this.enrollBatch, paceUntil: firstSlot + claimed.length * interval };
  }

  /**
   * The activity of one step. Not due yet (delay, send window in the customer's time zone, else
   * the merchant's): says how long to wait. Due: one statement re-checks the enrolment, tags,
   * subscription and address under the enrolment's row lock and records the message `sending`;
   * then the provider call; then one statement records the outcome and moves the enrolment on.
   * A retry after a crash finds the message row and never calls the provider twice.
   */
  async runStep(input: { enrollmentId: string; step: number; key: string }, attempt: { finalAttempt: boolean }): Promise<SequenceStepResult> {
    const now = this.deps.clock.now();
    const [run] = await this.deps.db.$queryRaw<StepRun[]>`
      SELECT e.id, e.status::text AS status, e.current_step AS "currentStep", e.step_due_at AS "stepDueAt", e.enrolled_at AS "enrolledAt",
        e.started_at AS "startedAt", e.next_send_at AS "nextSendAt", e.exit_reason AS "exitReason", e.merchant_id AS "merchantId",
        e.environment::text AS environment, e.sequence_id AS "sequenceId", e.version, v.steps,
        c.id AS "customerId", c.name, c.email, c.phone, c.metadata, c.tags, c.timezone,
        ms.name AS "merchantName", ms.timezone AS "merchantTimezone"
      FROM sequence_enrollments e
      JOIN sequence_versions v ON v.sequence_id = e.sequence_id AND v.version = e.version
      JOIN customers c ON c.id = e.customer_id
      JOIN merchant_settings ms ON ms.merchant_id = e.merchant_id AND ms.environment = e.environment
      WHERE e.id = ${input.enrollmentId}`;
    if (!run || !LIVE.has(run.status)) return { kind: 'ended', reason: run?.exitReason ?? run?.status ?? 'not_found' };
    const definition = run.steps as SequenceStep[];
    const steps = definition.map(planStep);
    if (run.currentStep > input.step) return this.alreadyDone(run.currentStep, steps.length, run.nextSendAt, input.key, now);
    const step = steps[input.step];
    if (!step) return { kind: 'ended', reason: 'completed' };
    const timeZone = run.timezone ?? run.merchantTimezone;
    const due = run.stepDueAt ?? new Date(run.enrolledAt.getTime() + step.delayMs);
    const sendAt = nextSendTime(due > now ? due : now, step.window, timeZone);
    if (sendAt > now) {
      await this.deps.db.sequenceEnrollment.updateMany({
        where: { id: run.id, currentStep: input.step, status: { in: ['pending_start', 'active'] } },
        data: { status: 'active', startedAt: run.startedAt ?? now, stepDueAt: due, nextSendAt: sendAt },
      });
      return { kind: 'wait', waitMs: sendAt.getTime() - now.getTime() };
    }

    const unsubscribeUrl = this.deps.messages.unsubscribeUrl(run.customerId, 'email');
    let content: MessageContent | undefined;
    let renderError: string | undefined;
    const customer = { ...run, id: run.customerId, tags: run.tags ?? [], metadata: run.metadata as Prisma.JsonValue };
    // One budget per send; a template over a limit records the message `failed` with the reason.
    const outcome = await this.deps.renderer.budget().render(definition[input.step]!, templateContext(customer, { name: run.merchantName }), unsubscribeUrl);
    if (outcome.ok) content = toContent(outcome.rendered, '', unsubscribeUrl);
    else renderError = outcome.errors.map((error) => error.message).join('; ');
    const claim = await this.claimStep(run, input, step.channel, content);
    if (!claim) return { kind: 'ended', reason: 'not_found' };
    const advance = () => this.advanceStatement(run.id, input.step, steps, timeZone, this.deps.clock.now());
    const recipient = step.channel === 'email' ? claim.email : claim.phone;

    let messageId = claim.insertedId;
    if (!messageId && claim.existingId) {
      if (claim.existingStatus === 'sending') {
        const next = advance();
        await this.deps.db.$executeRaw`WITH recorded AS (${this.deps.messageStore.recordOutcomeSql(claim.existingId, INTERRUPTED, now)}) ${next.sql}`;
        return done('unknown', input.step, steps.length, next.nextSendAt, now);
      }
      if (claim.existingStatus !== 'queued') {
        const next = advance();
        await this.deps.db.$executeRaw(next.sql);
        return done(claim.existingStatus!, input.step, steps.length, next.nextSendAt, now);
      }
    }
    if (!messageId) {
      const endedReason = !LIVE.has(claim.status) ? claim.status : claim.reason;
      if (endedReason) {
        if (claim.reason && LIVE.has(claim.status)) {
          await this.deps.db.sequenceEnrollment.updateMany({
            where: { id: run.id, status: { in: ['pending_start', 'active'] } },
            data: { status: 'exited', exitReason: claim.reason, endedAt: now, nextSendAt: null },
          });
        }
        // A message an earlier attempt left queued will not go out any more: say why.
        if (claim.existingId) {
          await this.deps.messageStore.skipQueued(claim.existingId, `the customer left the sequence (${endedReason})`);
        }
        return { kind: 'ended', reason: endedReason };
      }
      if (claim.currentStep !== input.step) {
        const current = await this.deps.db.sequenceEnrollment.findUniqueOrThrow({ where: { id: run.id } });
        return this.alreadyDone(current.currentStep, steps.length, current.nextSendAt, input.key, now);
      }
      const skipReason = this.deps.messages.unavailableChannel(step.channel) ?? skipReasonFor(step.channel, recipient, claim);
      if (skipReason || renderError) {
        const unsent: Unsent = skipReason ? { status: 'skipped', skipReason } : { status: 'failed', error: renderError! };
        const next = advance();
        await this.deps.db.$executeRaw`WITH recorded AS (${this.deps.messageStore.recordUnsentStepSql(stepMessage(run, input, step.channel), recipient, unsent)}) ${next.sql}`;
        return done(unsent.status, input.step, steps.length, next.nextSendAt, now);
      }
      // A message an earlier attempt left queued (it certainly did not send): claim it now.
      const claimed = await this.deps.messageStore.claim(claim.existingId!, this.deps.messages.sendingColumns({ ...content!, to: recipient! }));
      if (!claimed) throw new Error(`message ${claim.existingId} changed under a retry; trying again`);
      messageId = claim.existingId!;
    }

    const message = { id: messageId, idempotencyKey: input.key, merchantId: run.merchantId, environment: run.environment, customerId: run.customerId };
    const result = await this.deps.messages.send(message, { ...content!, to: recipient! }, { finalAttempt: attempt.finalAttempt });
    const retryAt = new Date(now.getTime() + RETRY_AFTER_MS);
    const record = this.deps.messageStore.recordOutcomeSql(messageId, result, retryAt);
    if (result.status === 'retry') {
      await this.deps.messageStore.recordOutcome(messageId, result, retryAt);
      // Certainly not sent: the activity fails and Temporal retries it with backoff.
      throw new Error(`message not sent, will retry: ${result.error}`);
    }
    const next = advance();
    await this.deps.db.$executeRaw`WITH recorded AS (${record}) ${next.sql}`;
    return done(result.status, input.step, steps.length, next.nextSendAt, this.deps.clock.now());
  }

  /**
   * The check and the claim of a due step, in one statement: under the enrolment's row lock, the
   * exit reason (if any), the step the enrolment is at, the address and the opt-out now; and when
   * all allow it and the channel has a provider, the message row inserted `sending` (unique on its
   * key: a second attempt finds it).
   */
  private async claimStep(run: StepRun, input: { enrollmentId: string; step: number; key: string }, channel: 'email' | 'sms', content: MessageContent | undefined) {
    const columns = content ? this.deps.messages.sendingColumns({ ...content, to: '' }) : undefined;
    const [row] = await this.deps.db.$queryRaw<
      {
        status: string;
        current_step: number;
        reason: string | null;
        email: string | null;
        phone: string | null;
        opted_out: boolean;
        suppressed: boolean;
        existing_id: string | null;
        existing_status: string | null;
        inserted_id: string | null;
      }[]
    >`
      WITH state AS (
        SELECT e.status::text AS status, e.current_step, ${this.exitReason} AS reason, c.email, c.phone,
          EXISTS (SELECT 1 FROM message_opt_outs o WHERE o.customer_id = c.id AND o.channel = ${channel}::"MessageChannel") AS opted_out,
          ${this.deps.suppressions.matches({
            merchantId: Prisma.sql`c.merchant_id`,
            environment: Prisma.sql`c.environment`,
            channel: Prisma.sql`${channel}`,
            address: Prisma.sql`CASE WHEN ${channel} = 'email' THEN c.email ELSE c.phone END`,
          })} AS suppressed
        FROM sequence_enrollments e
        JOIN sequence_versions v ON v.sequence_id = e.sequence_id AND v.version = e.version
        JOIN sequences s ON s.id = e.sequence_id
        JOIN customers c ON c.id = e.customer_id
        WHERE e.id = ${input.enrollmentId}
        FOR UPDATE OF e
      ),
      existing AS (SELECT id, status::text AS status FROM messages WHERE idempotency_key = ${input.key}),
      inserted AS (${this.deps.messageStore.insertSendingSql(
        stepMessage(run, input, channel),
        columns,
        Prisma.sql`CASE WHEN ${channel} = 'email' THEN state.email ELSE state.phone END`,
        Prisma.sql`FROM state
        WHERE ${columns !== undefined && this.deps.messages.unavailableChannel(channel) === null} AND state.status IN ('pending_start', 'active') AND state.reason IS NULL
          AND state.current_step = ${input.step} AND NOT state.opted_out AND NOT state.suppressed
          AND (CASE WHEN ${channel} = 'email' THEN state.email ELSE state.phone END) IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM existing)`,
      )})
      SELECT state.*, existing.id AS existing_id, existing.status AS existing_status, inserted.id AS inserted_id
      FROM state LEFT JOIN existing ON true LEFT JOIN inserted ON true`;
    if (!row) return undefined;
    return {
      status: row.status,
      currentStep: row.current_step,
      reason: row.reason,
      email: row.email,
      phone: row.phone,
      optedOut: row.opted_out,
      suppressed: row.suppressed,
      existingId: row.existing_id,
      existingStatus: row.existing_status,
      insertedId: row.inserted_id,
    };
  }

  private async alreadyDone(currentStep: number, total: number, nextSendAt: Date | null, key: string, now: Date): Promise<SequenceStepResult> {
    const status = await this.deps.messageStore.statusByKey(key);
    return done(status ?? 'skipped', currentStep - 1, total, nextSendAt, now);
  }

  /**
   * The statement that moves an enrolment past a step (only from that step, so a repeat changes
   * nothing): the next step is due its delay from now; after the last one the enrolment is
   * completed. With when the next step is expected to go out.
   */
  private advanceStatement(enrollmentId: string, step: number, steps: StepPlan[], timeZone: string, now: Date) {
    const next = steps[step + 1];
    const stepDueAt = next ? new Date(now.getTime() + next.delayMs) : null;
    const nextSendAt = next ? nextSendTime(stepDueAt!, next.window, timeZone) : null;
    const sql = Prisma.sql`
      UPDATE sequence_enrollments SET current_step = ${step + 1}, status = ${next ? 'active' : 'completed'}::"EnrollmentStatus",
        step_due_at = ${stepDueAt}, next_send_at = ${nextSendAt}, ended_at = ${next ? null : now}, updated_at = now()
      WHERE id = ${enrollmentId} AND current_step = ${step} AND status IN ('pending_start', 'active')`;
    return { sql, nextSendAt };
  }

  // --- Helpers -----------------------------------------------------------------------------------------

  /** Templates that do not parse, or that exceed the render limits for a sample customer, are refused. */
  private async checkTemplates(steps: SequenceStep[], triggerTag: string): Promise<void> {
    const context = templateContext({ ...SAMPLE_CUSTOMER, tags: [triggerTag] }, { name: 'Sample merchant' });
    await this.deps.renderer.check(steps, context, this.deps.messages.unsubscribeUrl(SAMPLE_CUSTOMER.id, 'email'));
  }

  private async recordVersion(tx: DbTx, sequence: Sequence): Promise<void> {
    await tx.sequenceVersion.create({
      data: {
        sequenceId: sequence.id,
        version: sequence.version,
        triggerTag: sequence.triggerTag,
        exitTag: sequence.exitTag,
        steps: sequence.steps as Prisma.InputJsonArray,
      },
    });
  }

  private async find(db: Db | DbTx, scope: Scope, id: string, options: { forUpdate?: boolean } = {}): Promise<Sequence> {
    if (options.forUpdate) await db.$executeRaw`SELECT 1 FROM sequences WHERE id = ${id} FOR UPDATE`;
    const sequence = await db.sequence.findFirst({ where: { id, merchantId: scope.merchantId, environment: scope.environment } });
    if (!sequence) throw new NotFoundError('sequence', id, 'id');
    return sequence;
  }

}

/** The message of an enrolment's step. */
function stepMessage(run: StepRun, input: { step: number; key: string }, channel: 'email' | 'sms'): StepMessage {
  return {
    merchantId: run.merchantId,
    environment: run.environment,
    customerId: run.customerId,
    channel,
    idempotencyKey: input.key,
    sequenceId: run.sequenceId,
    enrollmentId: run.id,
    step: input.step,
  };
}

/** A step is done: the next one (if any) and how long until it is expected to go out. */
function done(outcome: string, step: number, total: number, nextSendAt: Date | null, now: Date): SequenceStepResult {
  const next = step + 1 < total ? { step: step + 1, waitMs: Math.max(0, (nextSendAt?.getTime() ?? now.getTime()) - now.getTime()) } : null;
  return { kind: 'done', outcome: outcome as 'sent' | 'skipped' | 'failed' | 'unknown', next };
}

function validateTags(triggerTag: string, exitTag: string | null): void {
  if (exitTag !== null && exitTag === triggerTag) throw ValidationError.field('exit_tag', 'exit_tag must differ from trigger_tag');
}

function planStep(step: SequenceStep): StepPlan {
  return { channel: step.channel, delayMs: parseDuration(step.delay)!, window: step.send_window ? parseSendWindow(step.send_window)! : null };
}

/** Steps are stored as the API shows them, with an explicit null window. */
function normalizeSteps(steps: SequenceStep[]): SequenceStep[] {
  return steps.map((step) => ({ ...step, send_window: step.send_window ?? null }));
}

function skipReasonFor(channel: 'email' | 'sms', recipient: string | null, optOut: { optedOut: boolean; suppressed: boolean }): string | null {
  if (!recipient) return channel === 'email' ? 'no email address' : 'no phone number';
  if (optOut.optedOut) return `unsubscribed from ${channel}`;
  // The address opted out, possibly as another (since deleted) customer.
  if (optOut.suppressed) return `${channel === 'email' ? 'email address' : 'phone number'} on the suppression list`;
  return null;
}

function toContent(rendered: RenderedStep, to: string, unsubscribeUrl: string): MessageContent {
  if (rendered.channel === 'sms') return { channel: 'sms', to, body: rendered.body };
  return {
    channel: 'email',
    to,
    subject: rendered.subject,
    html: rendered.html,
    text: rendered.text,
    // RFC 8058 one-click unsubscribe: mail clients POST "List-Unsubscribe=One-Click" to the URL.
    headers: { 'List-Unsubscribe': `<${unsubscribeUrl}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
  };
}
