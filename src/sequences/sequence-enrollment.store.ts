import { Prisma, type Db, type DbTx } from '../db.js';
import type { Environment } from '../generated/prisma/enums.js';
import type { SequenceEnrollment } from '../generated/prisma/client.js';
import { paginate, type ListableModel, type Page, type PaginationQuery } from '../lib/pagination.js';
import type { Scope } from '../lib/scope.js';
import type { Channel } from '../messaging/message.schemas.js';
import type { MessageStore, SendingColumns } from '../messaging/message.store.js';
import type { SuppressionStore } from '../messaging/suppression.store.js';
import type { GoalEvent } from './sequence.goals.js';
import { enrollmentInclude, type EnrollmentRow } from './sequence.serializer.js';
import type { Ended, StepClaim, StepInput, StepMove, StepRun, TagEnrollment } from './sequence-enrollment.types.js';

export type { Ended, StepClaim, StepInput, StepMove, StepRun, TagEnrollment } from './sequence-enrollment.types.js';

const LIVE_STATUSES: SequenceEnrollment['status'][] = ['pending_start', 'active'];

type EndedRow = { id: string; sequence_id: string; customer_id: string; was: string };
const toEnded = (row: EndedRow): Ended => ({ id: row.id, sequenceId: row.sequence_id, customerId: row.customer_id, wasActive: row.was === 'active' });

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
 * The enrolments of customers in sequences (sequence_enrollments): the table's one writer. A
 * step's claim and outcome write its message through the MessageStore's fragments, in the same
 * statement as the enrolment's move.
 */
export class SequenceEnrollmentStore {
  /** See exitReasonSql. */
  private readonly exitReason: Prisma.Sql;

  constructor(
    private readonly db: Db,
    private readonly suppressions: SuppressionStore,
    private readonly messages: MessageStore,
  ) {
    this.exitReason = exitReasonSql(suppressions);
  }

  // --- The API -------------------------------------------------------------------------------------

  async latestEnrollment(tx: DbTx, sequenceId: string, customerId: string): Promise<SequenceEnrollment | null> {
    return tx.sequenceEnrollment.findFirst({ where: { sequenceId, customerId }, orderBy: { id: 'desc' } });
  }

  /** A manual enrolment; false when the customer is in the sequence already (the unique index settles a race). */
  async insertManualEnrollment(
    tx: DbTx,
    enrollment: { id: string; merchantId: string; environment: Environment; sequenceId: string; version: number; customerId: string; enrolledAt: Date },
  ): Promise<boolean> {
    const inserted = await tx.$executeRaw`
        INSERT INTO sequence_enrollments (id, merchant_id, environment, sequence_id, version, customer_id, source, enrolled_at, updated_at)
        VALUES (${enrollment.id}, ${enrollment.merchantId}, ${enrollment.environment}::"Environment", ${enrollment.sequenceId}, ${enrollment.version}, ${enrollment.customerId},
          'manual', ${enrollment.enrolledAt}, now())
        ON CONFLICT (sequence_id, customer_id) WHERE status IN ('pending_start', 'active') DO NOTHING`;
    return inserted > 0;
  }

  async enrollmentView(tx: DbTx, id: string): Promise<EnrollmentRow> {
    return tx.sequenceEnrollment.findUniqueOrThrow({ where: { id }, include: enrollmentInclude });
  }

  async findLive(tx: DbTx, scope: Scope, sequenceId: string, customerId: string): Promise<SequenceEnrollment | null> {
    return tx.sequenceEnrollment.findFirst({
      where: { sequenceId, customerId, merchantId: scope.merchantId, environment: scope.environment, status: { in: LIVE_STATUSES } },
    });
  }

  /** Ends one enrolment (`exited` for the reason), with its view. */
  async exit(tx: DbTx, id: string, exitReason: string, endedAt: Date): Promise<EnrollmentRow> {
    return tx.sequenceEnrollment.update({
      where: { id },
      data: { status: 'exited', exitReason, endedAt, nextSendAt: null },
      include: enrollmentInclude,
    });
  }

  /** Ends the live enrolments of an archived sequence. */
  async exitLiveOfSequence(tx: DbTx, sequenceId: string, endedAt: Date): Promise<void> {
    await tx.sequenceEnrollment.updateMany({
      where: { sequenceId, status: { in: LIVE_STATUSES } },
      data: { status: 'exited', exitReason: 'sequence_archived', endedAt, nextSendAt: null },
    });
  }

  async listEnrollments<Out>(where: Prisma.SequenceEnrollmentWhereInput, query: PaginationQuery, serialize: (row: EnrollmentRow) => Out): Promise<Page<Out>> {
    const { db } = this;
    const model: ListableModel<Prisma.SequenceEnrollmentWhereInput, EnrollmentRow> = {
      count: (args) => db.sequenceEnrollment.count(args),
      findMany: (args) => db.sequenceEnrollment.findMany({ ...args, include: enrollmentInclude }),
    };
    return paginate(model, where, query, serialize);
  }

  // --- The event bus -------------------------------------------------------------------------------

  /**
   * Enrols the customers who (still) have the trigger tag, not the exit tag, and may enter again;
   * the sequences that gained an enrolment.
   */
  async insertTagEnrollments(tx: DbTx, rows: TagEnrollment[]): Promise<{ id: string; merchantId: string }[]> {
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
  async endIneligible(tx: DbTx, customerIds: string[], endedAt: Date): Promise<Ended[]> {
    const rows = await tx.$queryRaw<EndedRow[]>`
      WITH candidates AS (
        SELECT e.id, e.status::text AS was, ${this.exitReason} AS reason
        FROM sequence_enrollments e
        JOIN sequence_versions v ON v.sequence_id = e.sequence_id AND v.version = e.version
        JOIN sequences s ON s.id = e.sequence_id
        JOIN customers c ON c.id = e.customer_id
        WHERE e.customer_id = ANY(${customerIds}::text[]) AND e.status IN ('pending_start', 'active')
      )
      UPDATE sequence_enrollments e
      SET status = 'exited', exit_reason = candidates.reason, ended_at = ${endedAt}, next_send_at = NULL, updated_at = now()
      FROM candidates
      WHERE e.id = candidates.id AND candidates.reason IS NOT NULL AND e.status IN ('pending_start', 'active')
      RETURNING e.id, e.sequence_id, e.customer_id, candidates.was`;
    return rows.map(toEnded);
  }

  /**
   * Ends, as `converted` with the event's id, the live enrolments whose version names one of these
   * events among its exit events (type, currency, minimum amount), in one statement. Only the
   * event's tenant and customer, and only enrolments from before the event: a re-delivered event
   * finds its enrolment ended, and never ends the customer's next one. The earliest event wins.
   */
  async endConverted(tx: DbTx, events: GoalEvent[], endedAt: Date): Promise<Ended[]> {
    const column = <K extends keyof GoalEvent>(key: K) => events.map((event) => event[key]);
    const rows = await tx.$queryRaw<EndedRow[]>`
      WITH ev AS (
        SELECT * FROM unnest(${column('id')}::text[], ${column('merchantId')}::text[], ${column('environment')}::text[], ${column('customerId')}::text[],
          ${column('type')}::text[], ${column('currency')}::text[], ${column('amount')}::text[], ${column('at')}::timestamptz[])
          AS ev(id, merchant_id, environment, customer_id, type, currency, amount, at)
      ),
      hits AS (
        SELECT DISTINCT ON (e.id) e.id, e.status::text AS was, ev.id AS event_id
        FROM ev
        JOIN sequence_enrollments e ON e.customer_id = ev.customer_id AND e.merchant_id = ev.merchant_id
          AND e.environment = ev.environment::"Environment" AND e.status IN ('pending_start', 'active') AND e.enrolled_at <= ev.at
        JOIN sequence_versions v ON v.sequence_id = e.sequence_id AND v.version = e.version
        -- As endIneligible: the customers' enrolments by their index, never a scan of every live one.
        WHERE e.customer_id = ANY(${column('customerId')}::text[]) AND EXISTS (
          SELECT 1 FROM jsonb_array_elements(v.exit_events) AS g(goal)
          WHERE g.goal->>'type' = ev.type
            AND (g.goal->'match'->>'currency' IS NULL OR g.goal->'match'->>'currency' = ev.currency)
            AND (g.goal->'match'->>'min_amount' IS NULL OR ev.amount::numeric >= (g.goal->'match'->>'min_amount')::numeric))
        ORDER BY e.id, ev.at, ev.id
      )
      UPDATE sequence_enrollments e
      SET status = 'exited', exit_reason = 'converted', converted_event_id = hits.event_id, ended_at = ${endedAt}, next_send_at = NULL, updated_at = now()
      FROM hits
      WHERE e.id = hits.id AND e.status IN ('pending_start', 'active')
      RETURNING e.id, e.sequence_id, e.customer_id, hits.was`;
    return rows.map(toEnded);
  }

  /** Every live enrolment of the customer ends (`customer_deleted`), whatever its state. */
  async exitAllOfCustomer(customerId: string, endedAt: Date): Promise<Ended[]> {
    const rows = await this.db.$queryRaw<EndedRow[]>`
      UPDATE sequence_enrollments e
      SET status = 'exited', exit_reason = 'customer_deleted', ended_at = ${endedAt}, next_send_at = NULL, updated_at = now()
      FROM (SELECT id, status::text AS was FROM sequence_enrollments WHERE customer_id = ${customerId} AND status IN ('pending_start', 'active')) old
      WHERE e.id = old.id AND e.status IN ('pending_start', 'active')
      RETURNING e.id, e.sequence_id, e.customer_id, old.was`;
    return rows.map(toEnded);
  }

  /** The sequences with enrolments pending since before `enrolledBefore` and not claimed by an enroller now. */
  async withStalePending(enrolledBefore: Date, now: Date): Promise<{ id: string; merchantId: string }[]> {
    return this.db.$queryRaw<{ id: string; merchantId: string }[]>`
      SELECT DISTINCT e.sequence_id AS id, e.merchant_id AS "merchantId"
      FROM sequence_enrollments e
      WHERE e.status = 'pending_start' AND e.enrolled_at < ${enrolledBefore}
        AND (e.start_claimed_until IS NULL OR e.start_claimed_until < ${now})`;
  }

  // --- The workflows' steps -------------------------------------------------------------------------

  /** Claims (until `claimUntil`) a batch of a sequence's pending enrolments that no enroller holds. */
  async claimPending(sequenceId: string, now: Date, claimUntil: Date, limit: number) {
    return this.db.$queryRaw<{ id: string; customer_id: string; merchant_id: string }[]>`
      UPDATE sequence_enrollments SET start_claimed_until = ${claimUntil}
      WHERE id IN (
        SELECT id FROM sequence_enrollments
        WHERE sequence_id = ${sequenceId} AND status = 'pending_start'
          AND (start_claimed_until IS NULL OR start_claimed_until < ${now})
        ORDER BY enrolled_at, id
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED)
      RETURNING id, customer_id, merchant_id`;
  }

  /** The claimed enrolments whose workflows started are active; the others are released for the next pass. */
  async markStarted(started: string[], failed: string[], startedAt: Date): Promise<void> {
    await this.db.$transaction([
      this.db.sequenceEnrollment.updateMany({
        where: { id: { in: started }, status: 'pending_start' },
        data: { status: 'active', startedAt, startClaimedUntil: null },
      }),
      this.db.sequenceEnrollment.updateMany({ where: { id: { in: failed } }, data: { startClaimedUntil: null } }),
    ]);
  }

  async stepRun(enrollmentId: string): Promise<StepRun | undefined> {
    const [run] = await this.db.$queryRaw<StepRun[]>`
      SELECT e.id, e.status::text AS status, e.current_step AS "currentStep", e.step_due_at AS "stepDueAt", e.enrolled_at AS "enrolledAt",
        e.started_at AS "startedAt", e.next_send_at AS "nextSendAt", e.exit_reason AS "exitReason", e.merchant_id AS "merchantId",
        e.environment::text AS environment, e.sequence_id AS "sequenceId", e.version, v.steps,
        c.id AS "customerId", c.name, c.email, c.phone, c.metadata, c.tags, c.timezone,
        ms.name AS "merchantName", ms.timezone AS "merchantTimezone", ms.support_email AS "merchantSupportEmail"
      FROM sequence_enrollments e
      JOIN sequence_versions v ON v.sequence_id = e.sequence_id AND v.version = e.version
      JOIN customers c ON c.id = e.customer_id
      JOIN merchant_settings ms ON ms.merchant_id = e.merchant_id AND ms.environment = e.environment
      WHERE e.id = ${enrollmentId}`;
    return run;
  }

  async findEnrollment(id: string): Promise<SequenceEnrollment> {
    return this.db.sequenceEnrollment.findUniqueOrThrow({ where: { id } });
  }

  /** A step not due yet: the enrolment is active and says when the step is expected to go out. */
  async scheduleStep(run: StepRun, step: number, schedule: { startedAt: Date; stepDueAt: Date; nextSendAt: Date }): Promise<void> {
    await this.db.sequenceEnrollment.updateMany({
      where: { id: run.id, currentStep: step, status: { in: LIVE_STATUSES } },
      data: { status: 'active', ...schedule },
    });
  }

  /**
   * The check and the claim of a due step, in one statement: under the enrolment's row lock, the
   * exit reason (if any), the step the enrolment is at, the address and the opt-out now; and when
   * all allow it and `canSend` (there is content and the channel has a provider), the message row
   * inserted `sending` (unique on its key: a second attempt finds it).
   */
  async claimStep(run: StepRun, input: StepInput, channel: Channel, columns: SendingColumns | undefined, canSend: boolean): Promise<StepClaim | undefined> {
    const message = {
      merchantId: run.merchantId,
      environment: run.environment,
      customerId: run.customerId,
      channel,
      idempotencyKey: input.key,
      sequenceId: run.sequenceId,
      enrollmentId: run.id,
      step: input.step,
    };
    const inserted = this.messages.insertSendingSql(
      message,
      columns,
      Prisma.sql`CASE WHEN ${channel} = 'email' THEN state.email ELSE state.phone END`,
      Prisma.sql`FROM state
        WHERE ${canSend} AND state.status IN ('pending_start', 'active') AND state.reason IS NULL
          AND state.current_step = ${input.step} AND NOT state.opted_out AND NOT state.suppressed
          AND (CASE WHEN ${channel} = 'email' THEN state.email ELSE state.phone END) IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM existing)`,
    );
    const [row] = await this.db.$queryRaw<
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
          ${this.suppressions.matches({
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
      inserted AS (${inserted})
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

  /** A live enrolment that may not go on any more ends, for that reason. */
  async exitLive(enrollmentId: string, exitReason: string, endedAt: Date): Promise<void> {
    await this.db.sequenceEnrollment.updateMany({
      where: { id: enrollmentId, status: { in: LIVE_STATUSES } },
      data: { status: 'exited', exitReason, endedAt, nextSendAt: null },
    });
  }

  /**
   * Moves an enrolment past a step (only from that step, so a repeat changes nothing), in one
   * statement with `recorded` (the step's message recorded, a MessageStore fragment) when given.
   */
  async advance(enrollmentId: string, move: StepMove, recorded?: Prisma.Sql): Promise<void> {
    const advanced = Prisma.sql`
      UPDATE sequence_enrollments SET current_step = ${move.step + 1}, status = ${move.completed ? 'completed' : 'active'}::"EnrollmentStatus",
        step_due_at = ${move.stepDueAt}, next_send_at = ${move.nextSendAt}, ended_at = ${move.completed ? move.at : null}, updated_at = now()
      WHERE id = ${enrollmentId} AND current_step = ${move.step} AND status IN ('pending_start', 'active')`;
    await this.db.$executeRaw(recorded ? Prisma.sql`WITH recorded AS (${recorded}) ${advanced}` : advanced);
  }
}
