import type { DigestService } from '../analytics/digest.service.js';
import { WORKFLOW_TYPES, messagesQueuedSignal, workflowIds } from '../../workflows/definitions.js';
import type { Prisma, DbTx } from '../db.js';
import type { ParkedEvent } from '../events/event-bus.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../logger.js';
import type { QueueWorkflow, TemporalGateway } from '../temporal/gateway.js';
import type { EndpointFailure } from '../webhooks/webhook.service.js';
import type { MessageStore } from './message.store.js';
import type { NotificationData } from './transactional.js';

const MESSAGE_QUEUE: QueueWorkflow = { workflowType: WORKFLOW_TYPES.messageQueue, signal: messagesQueuedSignal, name: 'a message queue' };

export interface MessageQueueDeps {
  store: MessageStore;
  temporal: TemporalGateway;
  /** Which nightly digests are due. */
  digests: Pick<DigestService, 'due'>;
  clock: Clock;
  logger: Logger;
}

/** Merchants' queue workflows woken at once after a nightly rollup queued their digests. */
const NUDGE_CHUNK = 100;

/**
 * Receipts, refund notices, merchant notifications and nightly digests: rows queued by the event
 * bus (message.reactions.ts), the webhooks and the rollup (unique on their key: `receipt:<payment
 * id>`, `refund-notice:<refund id>`, `notification:<event id>`,
 * `ltv-digest:<merchant>:<environment>:<date>`), so a re-delivered event or a retried step queues
 * nothing twice, and sent in batches by one `message-queue:<merchant>` workflow per merchant
 * (message.steps.ts), as webhook deliveries are.
 */
export class MessageQueueService {
  constructor(private readonly deps: MessageQueueDeps) {}

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
    const count = await this.deps.store.queue([
      {
        merchantId: failure.merchantId,
        environment: failure.environment,
        kind: 'notification',
        idempotencyKey: `notification:webhook-failing:${failure.endpointId}:${failure.lastSuccessfulDeliveryId ?? 'never'}`,
        data: data as unknown as Prisma.InputJsonObject,
      },
    ]);
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
    const count = await this.deps.store.queue(
      due.map((digest) => ({
        merchantId: digest.merchantId,
        environment: digest.environment,
        kind: 'digest' as const,
        idempotencyKey: `ltv-digest:${digest.merchantId}:${digest.environment}:${digest.date}`,
        data: { rollup_id: rollupId, date: digest.date },
      })),
    );
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
    await this.deps.store.queue(
      [
        {
          merchantId: event.merchantId,
          environment: event.environment,
          kind: 'notification',
          idempotencyKey: `notification:event-parked:${event.id}:${event.parkedAt.getTime()}`,
          data: data as unknown as Prisma.InputJsonObject,
        },
      ],
      tx,
    );
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
    const merchants = await this.deps.store.overdueMerchants(new Date(now.getTime() - overdueByMs), now);
    if (merchants.length > 0) await this.nudge(merchants);
    return merchants.length;
  }
}
