import type { DigestService } from '../analytics/digest.service.js';
import { WORKFLOW_TYPES, messagesQueuedSignal, workflowIds, type MessageQueuePass } from '../../workflows/definitions.js';
import { Prisma, type Db, type DbTx } from '../db.js';
import type { BusEvent, ParkedEvent } from '../events/event-bus.js';
import type { Environment } from '../generated/prisma/enums.js';
import type { MerchantSettings, Message } from '../generated/prisma/client.js';
import type { Clock } from '../lib/clock.js';
import { mapWithConcurrency } from '../lib/concurrency.js';
import { newId } from '../lib/ids.js';
import type { Logger } from '../logger.js';
import type { QueueWorkflow, TemporalGateway } from '../temporal/gateway.js';
import type { EndpointFailure } from '../webhooks/webhook.service.js';
import type { EmailContent, MessageService } from './message.service.js';
import {
  notificationEmail,
  receiptEmail,
  refundEmail,
  type Email,
  type NotificationData,
  type PaymentSnapshot,
  type RefundSnapshot,
} from './transactional.js';

const MESSAGE_QUEUE: QueueWorkflow = { workflowType: WORKFLOW_TYPES.messageQueue, signal: messagesQueuedSignal, name: 'a message queue' };

export interface MessageQueueDeps {
  db: Db;
  temporal: TemporalGateway;
  messages: MessageService;
  /** Which nightly digests are due, and their text. */
  digests: Pick<DigestService, 'due' | 'compose'>;
  clock: Clock;
  logger: Logger;
  /** Delay before each retry of a send that certainly did not happen, in ms; then the message is `failed`. */
  retrySchedule: number[];
  batchSize?: number;
  concurrency?: number;
}

/** A batch claim outlives a pass (batch / concurrency sends of at most the SMTP timeouts each). */
const CLAIM_MS = 300_000;
/** Merchants' queue workflows woken at once after a nightly rollup queued their digests. */
const NUDGE_CHUNK = 100;

type ClaimedMessage = Pick<Message, 'id' | 'idempotencyKey' | 'merchantId' | 'environment' | 'customerId' | 'kind' | 'attempts' | 'data'>;

type QueuedRow = { kind: 'receipt' | 'refund_notice' | 'notification'; key: string; customerId: string | null; data: object };

/**
 * Receipts, refund notices, merchant notifications and nightly digests: rows queued by the event
 * bus or the rollup (unique on their key: `receipt:<payment id>`, `refund-notice:<refund id>`,
 * `notification:<event id>`, `ltv-digest:<merchant>:<environment>:<date>`), so a re-delivered
 * event or a retried step queues nothing twice, and sent in batches by one
 * `message-queue:<merchant>` workflow per merchant, as webhook deliveries are.
 */
export class MessageQueueService {
  private readonly batchSize: number;
  private readonly concurrency: number;

  constructor(private readonly deps: MessageQueueDeps) {
    this.batchSize = deps.batchSize ?? 50;
    this.concurrency = deps.concurrency ?? 5;
  }

  /** Event bus side, in the relay's transaction: the messages a batch of events calls for. */
  async planFromEvents(tx: DbTx, events: BusEvent[]): Promise<string[]> {
    const rows: (QueuedRow & { merchantId: string; environment: Environment })[] = events.flatMap((event) =>
      this.messagesFor(event).map((row) => ({ ...row, merchantId: event.merchantId, environment: event.environment })),
    );
    if (rows.length === 0) return [];
    await tx.message.createMany({
      data: rows.map((row) => ({
        id: newId('message'),
        merchantId: row.merchantId,
        environment: row.environment,
        customerId: row.customerId,
        kind: row.kind,
        channel: 'email',
        idempotencyKey: row.key,
        data: row.data as Prisma.InputJsonObject,
      })),
      skipDuplicates: true,
    });
    return [...new Set(rows.map((row) => row.merchantId))];
  }

  private messagesFor(event: BusEvent): QueuedRow[] {
    const object = event.data.object as unknown as PaymentSnapshot & { customer_id?: string | null };
    switch (event.type) {
      case 'payment.succeeded':
        return object.customer_id ? [{ kind: 'receipt', key: `receipt:${object.id}`, customerId: object.customer_id, data: { payment: object } }] : [];
      case 'payment.refunded':
      case 'payment.partially_refunded': {
        const refund = event.data.refund as RefundSnapshot | undefined;
        if (!object.customer_id || !refund?.id) return [];
        return [{ kind: 'refund_notice', key: `refund-notice:${refund.id}`, customerId: object.customer_id, data: { payment: object, refund } }];
      }
      case 'customer.deletion_action_required': {
        const data: NotificationData = {
          type: 'deletion_action_required',
          environment: event.environment,
          customer_id: event.customerId ?? String((event.data.object as { customer_id?: string }).customer_id),
          step: String(event.data.step),
          reason: String(event.data.reason),
        };
        return [{ kind: 'notification', key: `notification:${event.id}`, customerId: null, data }];
      }
      default:
        return [];
    }
  }

  /**
   * Once per failing streak of a webhook endpoint: the key names the endpoint and its last
   * successful delivery, so repeated failures share one key until a success starts a new streak.
   */
  async endpointFailing(failure: EndpointFailure): Promise<void> {
    const data: NotificationData = {
      type: 'webhook_endpoint_failing',
      environment: failure.environment,
      endpoint_id: failure.endpointId,
      url: failure.url,
      error: failure.error,
      attempts: failure.attempts,
    };
    const { count } = await this.deps.db.message.createMany({
      data: [
        {
          id: newId('message'),
          merchantId: failure.merchantId,
          environment: failure.environment,
          kind: 'notification',
          channel: 'email',
          idempotencyKey: `notification:webhook-failing:${failure.endpointId}:${failure.lastSuccessfulDeliveryId ?? 'never'}`,
          data: data as unknown as Prisma.InputJsonObject,
        },
      ],
      skipDuplicates: true,
    });
    if (count > 0) await this.nudge([failure.merchantId]);
  }

  /**
   * Activity, after the nightly rollup: one digest row per merchant environment due one (unique on
   * merchant, environment and date, so a retried step queues none twice), then each merchant's
   * queue is woken. Sending is the queue's: a merchant whose address is refused or silent fails or
   * waits on its own. Returns how many digests it queued.
   */
  async queueDigests(rollupId: string): Promise<number> {
    const due = await this.deps.digests.due(rollupId);
    if (due.length === 0) return 0;
    const { count } = await this.deps.db.message.createMany({
      data: due.map((digest) => ({
        id: newId('message'),
        merchantId: digest.merchantId,
        environment: digest.environment,
        kind: 'digest' as const,
        channel: 'email' as const,
        idempotencyKey: `ltv-digest:${digest.merchantId}:${digest.environment}:${digest.date}`,
        data: { rollup_id: rollupId, date: digest.date },
      })),
      skipDuplicates: true,
    });
    const merchants = [...new Set(due.map((digest) => digest.merchantId))];
    for (let start = 0; start < merchants.length; start += NUDGE_CHUNK) await this.nudge(merchants.slice(start, start + NUDGE_CHUNK));
    this.deps.logger.info({ rollupId, digests: count }, 'LTV digests queued');
    return count;
  }

  /**
   * In the transaction that parks an event: its merchant's notice, keyed by the event and the
   * moment it was parked (once per parking; a replayed event that parks again is told again).
   */
  async eventParked(tx: DbTx, event: ParkedEvent): Promise<() => Promise<void>> {
    const data: NotificationData = {
      type: 'event_parked',
      environment: event.environment,
      event_id: event.id,
      event_type: event.type,
      attempts: event.attempts,
    };
    await tx.message.createMany({
      data: [
        {
          id: newId('message'),
          merchantId: event.merchantId,
          environment: event.environment,
          kind: 'notification',
          channel: 'email',
          idempotencyKey: `notification:event-parked:${event.id}:${event.parkedAt.getTime()}`,
          data: data as unknown as Prisma.InputJsonObject,
        },
      ],
      skipDuplicates: true,
    });
    return () => this.nudge([event.merchantId]);
  }

  /** Wakes each merchant's queue workflow, starting it if needed. Lost nudges are repaired by the reconciler. */
  async nudge(merchantIds: string[]): Promise<void> {
    const targets = merchantIds.map((merchantId) => ({ workflowId: workflowIds.messageQueue(merchantId), input: { merchantId }, merchantId }));
    await this.deps.temporal.nudgeQueues(MESSAGE_QUEUE, targets);
  }

  /** Housekeeping: merchants with messages overdue and unclaimed (a lost nudge, Temporal was down). */
  async reconcileOverdue(overdueByMs: number): Promise<number> {
    const now = this.deps.clock.now();
    const merchants = await this.deps.db.$queryRaw<{ merchant_id: string }[]>`
      SELECT DISTINCT merchant_id FROM messages
      WHERE kind <> 'sequence' AND status IN ('queued', 'sending')
        AND next_attempt_at < ${new Date(now.getTime() - overdueByMs)}
        AND (locked_until IS NULL OR locked_until < ${now})`;
    if (merchants.length > 0) await this.nudge(merchants.map((row) => row.merchant_id));
    return merchants.length;
  }

  /**
   * Activity side: one pass over a merchant's due messages. First, sends a crashed pass left
   * `sending` past their lease become `unknown` (never resent). Then a batch of queued messages is
   * claimed and each is composed, claimed `sending`, sent and recorded; failures are recorded,
   * never thrown.
   */
  async sendDue(merchantId: string, options: { heartbeat?: () => void } = {}): Promise<MessageQueuePass> {
    const { db } = this.deps;
    const now = this.deps.clock.now();
    const interrupted = await db.message.findMany({
      where: { merchantId, kind: { not: 'sequence' }, status: 'sending', lockedUntil: { lt: now } },
      select: { id: true },
    });
    for (const message of interrupted) await this.deps.messages.markInterrupted(message.id);
    const claimed = await db.$queryRaw<ClaimedMessage[]>`
      UPDATE messages SET locked_until = ${new Date(now.getTime() + CLAIM_MS)}
      WHERE id IN (
        SELECT id FROM messages
        WHERE merchant_id = ${merchantId} AND kind <> 'sequence' AND status = 'queued' AND next_attempt_at <= ${now}
          AND (locked_until IS NULL OR locked_until < ${now})
        ORDER BY next_attempt_at, id
        LIMIT ${this.batchSize}
        FOR UPDATE SKIP LOCKED)
      RETURNING id, idempotency_key AS "idempotencyKey", merchant_id AS "merchantId", environment, customer_id AS "customerId",
        kind, attempts, data`;
    // Each message reads the settings of its own environment: a sandbox receipt never shows the
    // live name, a live notification never goes to the sandbox address.
    const settings = new Map(claimed.length > 0 ? (await db.merchantSettings.findMany({ where: { merchantId } })).map((row) => [row.environment, row]) : []);
    const outcomes = await mapWithConcurrency(claimed, this.concurrency, async (message) => {
      const status = await this.sendOne(message, settings.get(message.environment)!);
      options.heartbeat?.();
      return status;
    });
    const [next] = await db.$queryRaw<{ due: Date | null }[]>`
      SELECT min(greatest(next_attempt_at, coalesce(locked_until, next_attempt_at))) AS due
      FROM messages WHERE merchant_id = ${merchantId} AND kind <> 'sequence' AND status IN ('queued', 'sending')`;
    return {
      sent: outcomes.filter((status) => status === 'sent').length,
      moreDue: claimed.length === this.batchSize,
      nextDueAt: next?.due?.toISOString() ?? null,
    };
  }

  private async sendOne(message: ClaimedMessage, settings: MerchantSettings): Promise<string> {
    const { db, messages } = this.deps;
    const composed = await this.compose(message, settings);
    if ('skip' in composed || 'error' in composed) {
      const data = 'skip' in composed ? { status: 'skipped' as const, skipReason: composed.skip } : { status: 'failed' as const, error: composed.error };
      await db.message.updateMany({ where: { id: message.id, status: 'queued' }, data: { ...data, lockedUntil: null } });
      return data.status;
    }
    if (!(await messages.claim(db, message.id, composed))) return 'gone';
    const delay = this.deps.retrySchedule[message.attempts];
    const result = await messages.deliver(message, composed, {
      finalAttempt: delay === undefined,
      retryAt: new Date(this.deps.clock.now().getTime() + (delay ?? 0)),
    });
    return result.status;
  }

  /** The email a queued message is, to whom; or why it is not sent. */
  private async compose(message: ClaimedMessage, settings: MerchantSettings): Promise<EmailContent | { skip: string } | { error: string }> {
    const data = message.data as { payment?: PaymentSnapshot; refund?: RefundSnapshot; date?: string } & Partial<NotificationData>;
    let email: Email;
    let to: string | null;
    try {
      if (message.kind === 'digest') {
        to = settings.notificationEmail;
        if (!to) return { skip: 'the merchant has no notification address' };
        email = await this.deps.digests.compose({ merchantId: message.merchantId, environment: message.environment }, settings.name, data.date!);
      } else if (message.kind === 'notification') {
        to = settings.notificationEmail;
        if (!to) return { skip: 'the merchant has no notification address' };
        email = notificationEmail(data as NotificationData, settings.name);
      } else {
        const customer = message.customerId ? await this.deps.db.customer.findUnique({ where: { id: message.customerId } }) : null;
        if (!customer || customer.status === 'deleted') return { skip: 'customer deleted' };
        to = customer.email;
        if (!to) return { skip: 'no email address' };
        const reader = { name: customer.name, timeZone: customer.timezone ?? settings.timezone };
        email =
          message.kind === 'receipt'
            ? receiptEmail(data.payment!, settings.name, reader)
            : refundEmail(data.payment!, data.refund!, settings.name, reader);
      }
    } catch (error) {
      return { error: `could not be composed: ${(error as Error).message}` };
    }
    return { channel: 'email', to, ...email };
  }
}
