import { Prisma, type Db, type DbTx } from '../db.js';
import type { Environment } from '../generated/prisma/enums.js';
import type { Customer, MerchantSettings, Message, MessageOptOut } from '../generated/prisma/client.js';
import type { Clock } from '../lib/clock.js';
import { newId } from '../lib/ids.js';
import { paginate, type Page, type PaginationQuery } from '../lib/pagination.js';
import type { Channel, OptOutObject } from './message.schemas.js';
import type { PaidFor, PaymentSnapshot } from './transactional.js';

/** What one provider call came to. `retry`: certainly not sent, and may be tried again. */
export type SendResult =
  | { status: 'sent'; providerMessageId: string }
  | { status: 'failed' | 'unknown'; error: string }
  | { status: 'retry'; error: string };

/** What a claimed (`sending`) row records of the message it is about to send. */
export interface SendingColumns {
  recipient: string;
  subject: string | null;
  segments: number | null;
  provider: string | null;
  lockedUntil: Date;
}

/** A receipt, refund notice, notification or digest to queue (email, sent by the merchant's queue). */
export interface QueuedMessage {
  merchantId: string;
  environment: Environment;
  customerId?: string | null;
  kind: 'receipt' | 'refund_notice' | 'notification' | 'digest';
  idempotencyKey: string;
  data: Prisma.InputJsonObject;
}

/** A queued row claimed by a queue pass. */
export type ClaimedMessage = Pick<Message, 'id' | 'idempotencyKey' | 'merchantId' | 'environment' | 'customerId' | 'kind' | 'attempts' | 'data'>;

/** The message of one sequence step: unique on its key, whatever the attempt. */
export interface StepMessage {
  merchantId: string;
  environment: 'sandbox' | 'live';
  customerId: string;
  channel: Channel;
  idempotencyKey: string;
  sequenceId: string;
  enrollmentId: string;
  step: number;
}

/** A message recorded as not sent, and why. */
export type Unsent = { status: 'skipped'; skipReason: string } | { status: 'failed'; error: string };

export type OptOutSource = OptOutObject['source'];

/** Claimed rows belong to their sender this long; a longer cut-off `sending` row was interrupted. */
export const SENDING_LEASE_MS = 120_000;

/** A `sending` row found by a later attempt: its call was cut off, it is never sent again. */
export const INTERRUPTED = {
  status: 'unknown',
  error: 'the send was interrupted (worker stopped or timed out during the provider call); not sent again so it cannot arrive twice',
} as const satisfies SendResult;

/**
 * The messages table, and the customers' opt-outs (message_opt_outs): their one writer. Every
 * message is a row unique on its idempotency key, and a row is `sending` (committed) before its
 * provider call and final after it: a retry that finds it `sending` knows the previous call was cut
 * off and never calls the provider again. Statements other features run as part of their own
 * (a sequence step's claim and outcome, with the enrolment's move) are built here as fragments.
 */
export class MessageStore {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  // --- Reads ---------------------------------------------------------------------------------------

  async list<Out>(where: Prisma.MessageWhereInput, query: PaginationQuery, serialize: (row: Message) => Out): Promise<Page<Out>> {
    return paginate(this.db.message, where, query, serialize);
  }

  /** The status of the message with this key, if there is one. */
  async statusByKey(idempotencyKey: string): Promise<Message['status'] | undefined> {
    const message = await this.db.message.findUnique({ where: { idempotencyKey }, select: { status: true } });
    return message?.status;
  }

  /** The customer a message or a link is for, whatever its merchant. */
  async findCustomer(customerId: string, db: Db | DbTx = this.db): Promise<Customer | null> {
    return db.customer.findUnique({ where: { id: customerId } });
  }

  /**
   * What a payment paid for, from the object its source names in the message's own tenant (a
   * source id of another merchant's or environment's finds nothing): an invoice's number and
   * lines; a subscription's plan, or the plan of the subscription an invoice bills.
   */
  async paidFor(tenant: Pick<ClaimedMessage, 'merchantId' | 'environment'>, payment: Pick<PaymentSnapshot, 'source' | 'source_id'>): Promise<PaidFor | undefined> {
    if (!payment.source_id || (payment.source !== 'invoice' && payment.source !== 'subscription')) return undefined;
    const where = { id: payment.source_id, merchantId: tenant.merchantId, environment: tenant.environment };
    if (payment.source === 'subscription') {
      const subscription = await this.db.subscription.findFirst({ where, select: { planCode: true, interval: true } });
      if (subscription) return { plan: { code: subscription.planCode, interval: subscription.interval } };
    }
    const invoice = await this.db.invoice.findFirst({
      where,
      select: { id: true, number: true, currency: true, lines: { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], include: { subscription: true } } },
    });
    if (!invoice) return undefined;
    const plan = invoice.lines.find((line) => line.subscription)?.subscription;
    if (payment.source === 'subscription' && plan) return { plan: { code: plan.planCode, interval: plan.interval } };
    return {
      invoice: {
        id: invoice.id,
        number: invoice.number,
        currency: invoice.currency,
        lines: invoice.lines.map((line) => ({ description: line.description, quantity: line.quantity, amount: line.amount })),
      },
    };
  }

  /** The settings of each environment of a merchant: a message reads its own environment's. */
  async merchantSettings(merchantId: string): Promise<Map<Environment, MerchantSettings>> {
    return new Map((await this.db.merchantSettings.findMany({ where: { merchantId } })).map((row) => [row.environment, row]));
  }

  // --- The queue (receipts, notices, notifications, digests) --------------------------------------

  /** Queues messages; a key already queued adds nothing. How many were added. */
  async queue(messages: QueuedMessage[], db: Db | DbTx = this.db): Promise<number> {
    const { count } = await db.message.createMany({
      data: messages.map((message) => ({
        id: newId('message'),
        merchantId: message.merchantId,
        environment: message.environment,
        customerId: message.customerId,
        kind: message.kind,
        channel: 'email',
        idempotencyKey: message.idempotencyKey,
        data: message.data,
      })),
      skipDuplicates: true,
    });
    return count;
  }

  /** A merchant's queued messages still `sending` past their lease: their pass was cut off. */
  async interruptedOf(merchantId: string, now: Date): Promise<string[]> {
    const rows = await this.db.message.findMany({
      where: { merchantId, kind: { not: 'sequence' }, status: 'sending', lockedUntil: { lt: now } },
      select: { id: true },
    });
    return rows.map((row) => row.id);
  }

  /** Claims a batch of a merchant's due queued messages for one pass, until `until`. */
  async claimDue(merchantId: string, now: Date, until: Date, limit: number): Promise<ClaimedMessage[]> {
    return this.db.$queryRaw<ClaimedMessage[]>`
      UPDATE messages SET locked_until = ${until}
      WHERE id IN (
        SELECT id FROM messages
        WHERE merchant_id = ${merchantId} AND kind <> 'sequence' AND status = 'queued' AND next_attempt_at <= ${now}
          AND (locked_until IS NULL OR locked_until < ${now})
        ORDER BY next_attempt_at, id
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED)
      RETURNING id, idempotency_key AS "idempotencyKey", merchant_id AS "merchantId", environment, customer_id AS "customerId",
        kind, attempts, data`;
  }

  /** When a merchant's queue next has something due, if anything. */
  async nextDue(merchantId: string): Promise<Date | null> {
    const [next] = await this.db.$queryRaw<{ due: Date | null }[]>`
      SELECT min(greatest(next_attempt_at, coalesce(locked_until, next_attempt_at))) AS due
      FROM messages WHERE merchant_id = ${merchantId} AND kind <> 'sequence' AND status IN ('queued', 'sending')`;
    return next?.due ?? null;
  }

  /** Merchants with queued messages overdue and unclaimed. */
  async overdueMerchants(overdueBefore: Date, now: Date): Promise<string[]> {
    const merchants = await this.db.$queryRaw<{ merchant_id: string }[]>`
      SELECT DISTINCT merchant_id FROM messages
      WHERE kind <> 'sequence' AND status IN ('queued', 'sending')
        AND next_attempt_at < ${overdueBefore}
        AND (locked_until IS NULL OR locked_until < ${now})`;
    return merchants.map((row) => row.merchant_id);
  }

  /** A queued message that will not be sent (nothing to send it to, or it could not be composed). */
  async recordUnsent(messageId: string, unsent: Unsent): Promise<void> {
    await this.db.message.updateMany({ where: { id: messageId, status: 'queued' }, data: { ...unsent, lockedUntil: null } });
  }

  // --- Sending -------------------------------------------------------------------------------------

  /**
   * Claims a `queued` row for one provider call (`sending`, committed before the call), with what
   * it will be sent as. False when the row is not queued any more.
   */
  async claim(messageId: string, columns: SendingColumns, db: Db | DbTx = this.db): Promise<boolean> {
    const claimed = await db.$executeRaw`
      UPDATE messages SET status = 'sending', attempts = attempts + 1, recipient = ${columns.recipient}, subject = ${columns.subject},
        segments = ${columns.segments}, provider = ${columns.provider}, error = NULL, locked_until = ${columns.lockedUntil}, updated_at = now()
      WHERE id = ${messageId} AND status = 'queued'`;
    return claimed > 0;
  }

  /**
   * SQL: a sequence step's message inserted `sending` to `recipient` for each row of `source` (the
   * FROM and WHERE clauses of the caller's statement), unless its key exists; returns its id.
   */
  insertSendingSql(message: StepMessage, columns: Omit<SendingColumns, 'recipient'> | undefined, recipient: Prisma.Sql, source: Prisma.Sql): Prisma.Sql {
    const { channel } = message;
    return Prisma.sql`
        INSERT INTO messages (id, merchant_id, environment, customer_id, kind, channel, idempotency_key, status, recipient, subject,
          segments, provider, sequence_id, enrollment_id, step, attempts, locked_until, updated_at)
        SELECT ${newId('message')}, ${message.merchantId}, ${message.environment}::"Environment", ${message.customerId}, 'sequence', ${channel}::"MessageChannel",
          ${message.idempotencyKey}, 'sending', ${recipient}, ${columns?.subject ?? null},
          ${columns?.segments ?? null}, ${columns?.provider ?? null}, ${message.sequenceId}, ${message.enrollmentId}, ${message.step}, 1, ${columns?.lockedUntil ?? null}, now()
        ${source}
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING id`;
  }

  /**
   * SQL: a sequence step's message recorded as not sent (a row an earlier attempt left `queued`
   * takes the outcome; a final one keeps its own); returns its id.
   */
  recordUnsentStepSql(message: StepMessage, recipient: string | null, unsent: Unsent): Prisma.Sql {
    const skipReason = unsent.status === 'skipped' ? unsent.skipReason : null;
    const error = unsent.status === 'failed' ? unsent.error : null;
    return Prisma.sql`
            INSERT INTO messages (id, merchant_id, environment, customer_id, kind, channel, idempotency_key, status, recipient,
              skip_reason, error, sequence_id, enrollment_id, step, updated_at)
            VALUES (${newId('message')}, ${message.merchantId}, ${message.environment}::"Environment", ${message.customerId}, 'sequence',
              ${message.channel}::"MessageChannel", ${message.idempotencyKey}, ${unsent.status}::"MessageStatus", ${recipient}, ${skipReason}, ${error},
              ${message.sequenceId}, ${message.enrollmentId}, ${message.step}, now())
            ON CONFLICT (idempotency_key) DO UPDATE SET status = EXCLUDED.status, skip_reason = EXCLUDED.skip_reason, error = EXCLUDED.error
              WHERE messages.status = 'queued'
            RETURNING id`;
  }

  /**
   * The statement that records a call's outcome on its `sending` row: final, or back to `queued`
   * (at `retryAt`) when it certainly did not send.
   */
  private outcomeSql(messageId: string, result: SendResult, retryAt: Date): Prisma.Sql {
    const now = this.clock.now();
    const status = result.status === 'retry' ? 'queued' : result.status;
    return Prisma.sql`
      UPDATE messages SET status = ${status}::"MessageStatus",
        provider_message_id = ${result.status === 'sent' ? result.providerMessageId : null},
        error = ${result.status === 'sent' ? null : result.error},
        sent_at = ${result.status === 'sent' ? now : null},
        next_attempt_at = ${result.status === 'retry' ? retryAt : now},
        locked_until = NULL, updated_at = now()
      WHERE id = ${messageId} AND status = 'sending'`;
  }

  /** SQL: `recordOutcome` as part of the caller's statement; returns the message's id. */
  recordOutcomeSql(messageId: string, result: SendResult, retryAt: Date): Prisma.Sql {
    return Prisma.sql`${this.outcomeSql(messageId, result, retryAt)} RETURNING messages.id`;
  }

  async recordOutcome(messageId: string, result: SendResult, retryAt: Date): Promise<void> {
    await this.db.$executeRaw(this.outcomeSql(messageId, result, retryAt));
  }

  async markInterrupted(messageId: string): Promise<void> {
    await this.recordOutcome(messageId, INTERRUPTED, this.clock.now());
  }

  /** A message an earlier attempt left queued will not go out any more: says why. */
  async skipQueued(messageId: string, skipReason: string): Promise<void> {
    await this.db.message.updateMany({ where: { id: messageId, status: 'queued' }, data: { status: 'skipped', skipReason } });
  }

  // --- Erasure and retention -----------------------------------------------------------------------

  /**
   * Erasure (GDPR): the addresses, subjects and rendered facts of a customer's messages are
   * removed; the rows stay, so what was sent when remains countable.
   */
  async eraseCustomer(tx: DbTx, customerId: string): Promise<number> {
    return tx.$executeRaw`
      UPDATE messages SET recipient = NULL, subject = NULL, data = NULL,
        error = CASE WHEN error IS NULL THEN NULL ELSE 'erased' END, updated_at = now()
      WHERE customer_id = ${customerId} AND (recipient IS NOT NULL OR subject IS NOT NULL OR data IS NOT NULL)`;
  }

  /**
   * Retention: blanks the rendered subject and the facts (`data`) of up to `limit` of the oldest
   * finished messages (sent, skipped, failed) created before `cutoff`. The rows stay with their
   * status, recipient, provider id and idempotency key, which keeps guarding against a second send.
   * Queued, sending and unknown messages keep everything (a person judges the unknown ones).
   */
  async pruneBodies(cutoff: Date, limit: number): Promise<number> {
    return this.db.$executeRaw`
      UPDATE messages SET subject = NULL, data = NULL, updated_at = now()
      WHERE id = ANY(ARRAY(
        SELECT id FROM messages
        WHERE status IN ('sent', 'skipped', 'failed') AND (subject IS NOT NULL OR data IS NOT NULL) AND created_at < ${cutoff}
        ORDER BY created_at
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED))`;
  }

  // --- Opt-outs ------------------------------------------------------------------------------------

  async optOutsOf(customerId: string, db: Db | DbTx = this.db): Promise<MessageOptOut[]> {
    return db.messageOptOut.findMany({ where: { customerId }, orderBy: { channel: 'asc' } });
  }

  async findOptOut(tx: DbTx, customerId: string, channel: Channel): Promise<MessageOptOut | null> {
    return tx.messageOptOut.findUnique({ where: { customerId_channel: { customerId, channel } } });
  }

  /** Records the opt-out of a customer (of this merchant environment); false when it existed. */
  async insertOptOut(tx: DbTx, customer: Pick<Customer, 'id' | 'merchantId' | 'environment'>, channel: Channel, source: OptOutSource): Promise<boolean> {
    const inserted = await tx.$executeRaw`
      INSERT INTO message_opt_outs (customer_id, channel, merchant_id, environment, source)
      VALUES (${customer.id}, ${channel}::"MessageChannel", ${customer.merchantId}, ${customer.environment}::"Environment", ${source})
      ON CONFLICT (customer_id, channel) DO NOTHING`;
    return inserted > 0;
  }

  async getOptOut(tx: DbTx, customerId: string, channel: Channel): Promise<MessageOptOut> {
    return tx.messageOptOut.findUniqueOrThrow({ where: { customerId_channel: { customerId, channel } } });
  }

  async deleteOptOut(tx: DbTx, customerId: string, channel: Channel): Promise<void> {
    await tx.messageOptOut.delete({ where: { customerId_channel: { customerId, channel } } });
  }
}
