import type { DigestService } from '../analytics/digest.service.js';
import type { MessageQueuePass } from '../../workflows/definitions.js';
import type { MerchantSettings } from '../generated/prisma/client.js';
import type { Environment } from '../generated/prisma/enums.js';
import type { Clock } from '../lib/clock.js';
import { mapWithConcurrency } from '../lib/concurrency.js';
import type { EmailContent, MessageService } from './message.service.js';
import type { ClaimedMessage, MessageStore, Unsent } from './message.store.js';
import {
  customerEmailHeaders,
  notificationEmail,
  receiptEmail,
  refundEmail,
  type Email,
  type NotificationData,
  type PaymentSnapshot,
  type RefundSnapshot,
} from './transactional.js';

export interface MessageStepsDeps {
  store: MessageStore;
  /** The provider call. */
  messages: Pick<MessageService, 'send' | 'sendingColumns'>;
  /** The text of a nightly digest. */
  digests: Pick<DigestService, 'compose'>;
  clock: Clock;
  /** Delay before each retry of a send that certainly did not happen, in ms; then the message is `failed`. */
  retrySchedule: number[];
  batchSize?: number;
  concurrency?: number;
}

/** A batch claim outlives a pass (batch / concurrency sends of at most the SMTP timeouts each). */
const CLAIM_MS = 300_000;

/**
 * The activity of the `message-queue:<merchant>` workflow: passes over a merchant's queued
 * receipts, refund notices, notifications and digests (see MessageQueueService).
 */
export class MessageSteps {
  private readonly batchSize: number;
  private readonly concurrency: number;

  constructor(private readonly deps: MessageStepsDeps) {
    this.batchSize = deps.batchSize ?? 50;
    this.concurrency = deps.concurrency ?? 5;
  }

  /**
   * One pass over a merchant's due messages. First, sends a crashed pass left `sending` past their
   * lease become `unknown` (never resent). Then a batch of queued messages is claimed and each is
   * composed, claimed `sending`, sent and recorded; failures are recorded, never thrown.
   */
  async sendDue(merchantId: string, options: { heartbeat?: () => void } = {}): Promise<MessageQueuePass> {
    const { store } = this.deps;
    const now = this.deps.clock.now();
    for (const messageId of await store.interruptedOf(merchantId, now)) await store.markInterrupted(messageId);
    const claimed = await store.claimDue(merchantId, now, new Date(now.getTime() + CLAIM_MS), this.batchSize);
    // Each message reads the settings of its own environment: a sandbox receipt never shows the
    // live name, a live notification never goes to the sandbox address.
    const settings = claimed.length > 0 ? await store.merchantSettings(merchantId) : new Map<Environment, MerchantSettings>();
    const outcomes = await mapWithConcurrency(claimed, this.concurrency, async (message) => {
      const status = await this.sendOne(message, settings.get(message.environment)!);
      options.heartbeat?.();
      return status;
    });
    const nextDue = await store.nextDue(merchantId);
    return {
      sent: outcomes.filter((status) => status === 'sent').length,
      moreDue: claimed.length === this.batchSize,
      nextDueAt: nextDue?.toISOString() ?? null,
    };
  }

  private async sendOne(message: ClaimedMessage, settings: MerchantSettings): Promise<string> {
    const { store, messages } = this.deps;
    const composed = await this.compose(message, settings);
    if ('skip' in composed || 'error' in composed) {
      const unsent: Unsent = 'skip' in composed ? { status: 'skipped', skipReason: composed.skip } : { status: 'failed', error: composed.error };
      await store.recordUnsent(message.id, unsent);
      return unsent.status;
    }
    if (!(await store.claim(message.id, messages.sendingColumns(composed)))) return 'gone';
    const delay = this.deps.retrySchedule[message.attempts];
    const retryAt = new Date(this.deps.clock.now().getTime() + (delay ?? 0));
    const result = await messages.send(message, composed, { finalAttempt: delay === undefined });
    await store.recordOutcome(message.id, result, retryAt);
    return result.status;
  }

  /** The email a queued message is, to whom; or why it is not sent. */
  private async compose(message: ClaimedMessage, settings: MerchantSettings): Promise<EmailContent | { skip: string } | { error: string }> {
    const data = message.data as { payment?: PaymentSnapshot; refund?: RefundSnapshot; date?: string } & Partial<NotificationData>;
    let email: Email;
    let to: string | null;
    let headers: Record<string, string> | undefined;
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
        const customer = message.customerId ? await this.deps.store.findCustomer(message.customerId) : null;
        if (!customer || customer.status === 'deleted') return { skip: 'customer deleted' };
        to = customer.email;
        if (!to) return { skip: 'no email address' };
        const reader = { name: customer.name, timeZone: customer.timezone ?? settings.timezone };
        const sender = { name: settings.name, supportEmail: settings.supportEmail };
        const paidFor = await this.deps.store.paidFor(message, data.payment!);
        email =
          message.kind === 'receipt'
            ? receiptEmail(data.payment!, sender, reader, paidFor)
            : refundEmail(data.payment!, data.refund!, sender, reader, paidFor);
        headers = customerEmailHeaders(sender);
      }
    } catch (error) {
      return { error: `could not be composed: ${(error as Error).message}` };
    }
    return { channel: 'email', to, ...email, ...(headers && { headers }) };
  }
}
