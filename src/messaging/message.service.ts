import type { CustomerService } from '../customers/customer.service.js';
import { serializeCustomer } from '../customers/customer.serializer.js';
import { Prisma, type Db, type DbTx } from '../db.js';
import { recordEvents } from '../events/outbox.js';
import type { Message } from '../generated/prisma/client.js';
import type { Clock } from '../lib/clock.js';
import { findSettings } from '../merchants/merchant-settings.store.js';
import { NotFoundError } from '../lib/errors.js';
import { paginate, type Page } from '../lib/pagination.js';
import type { Scope, WriteContext } from '../lib/scope.js';
import type { Logger } from '../logger.js';
import { DeliveryError } from './delivery-error.js';
import type { Mailer } from './mailer.js';
import type { Channel, ListMessagesQuery, MessageObject, OptOutObject } from './message.schemas.js';
import { serializeMessage, serializeOptOut } from './message.serializer.js';
import type { SmsProvider } from './sms.js';
import { smsSize } from './sms-segments.js';
import type { SuppressionStore } from './suppression.store.js';
import { unsubscribeToken, verifyUnsubscribeToken } from './unsubscribe-token.js';

export interface EmailContent {
  channel: 'email';
  to: string;
  subject: string;
  html: string;
  text: string;
  headers?: Record<string, string>;
}
export interface SmsContent {
  channel: 'sms';
  to: string;
  body: string;
}
export type MessageContent = EmailContent | SmsContent;

/** What one provider call came to. `retry`: certainly not sent, and may be tried again. */
export type SendResult =
  | { status: 'sent'; providerMessageId: string }
  | { status: 'failed' | 'unknown'; error: string }
  | { status: 'retry'; error: string };

/** The identity of a message row being sent. */
export type SendingMessage = Pick<Message, 'id' | 'idempotencyKey' | 'merchantId' | 'environment' | 'customerId'>;

export type OptOutSource = OptOutObject['source'];

export interface MessageServiceDeps {
  db: Db;
  mailer: Mailer;
  /** None configured (SMS_PROVIDER=none): SMS are not sent but skipped (see `unavailableChannel`). */
  sms: SmsProvider | undefined;
  customers: CustomerService;
  /** Opted-out addresses: every opt-out puts the customer's address there too. */
  suppressions: SuppressionStore;
  clock: Clock;
  logger: Logger;
  /** Unsubscribe links are signed with the first and accepted with any. */
  unsubscribeKeys: string[];
  /** Base of the links put into messages (the API's public address). */
  publicBaseUrl: string;
}

const NO_SMS_PROVIDER = 'no SMS provider configured';

/** Claimed rows belong to their sender this long; a longer cut-off `sending` row was interrupted. */
export const SENDING_LEASE_MS = 120_000;

/**
 * Messages and their channels. Every message is a row unique on its idempotency key, and a row is
 * `sending` (committed) before its provider call and final after it: a retry that finds it
 * `sending` knows the previous call was cut off and never calls the provider again.
 */
export class MessageService {
  constructor(private readonly deps: MessageServiceDeps) {}

  // --- The API ------------------------------------------------------------------------------------

  async listForCustomer(scope: Scope, customerId: string, query: ListMessagesQuery): Promise<Page<MessageObject>> {
    const customer = await this.deps.customers.find(this.deps.db, scope, customerId);
    const where = {
      customerId: customer.id,
      ...(query.sequence_id && { sequenceId: query.sequence_id }),
      ...(query.status && { status: query.status }),
    };
    return paginate(this.deps.db.message, where, query, serializeMessage);
  }

  async listOptOuts(scope: Scope, customerId: string): Promise<{ object: 'list'; data: OptOutObject[] }> {
    const customer = await this.deps.customers.find(this.deps.db, scope, customerId);
    const rows = await this.deps.db.messageOptOut.findMany({ where: { customerId: customer.id }, orderBy: { channel: 'asc' } });
    return { object: 'list', data: rows.map(serializeOptOut) };
  }

  /** Records that the customer opted out of a channel (idempotent), with `customer.unsubscribed`. */
  async optOut(write: WriteContext<OptOutObject>, customerId: string, channel: Channel): Promise<OptOutObject> {
    return this.deps.db.$transaction(async (tx) => {
      const customer = await this.deps.customers.find(tx, write, customerId);
      const optOut = await this.recordOptOut(tx, customer.id, channel, 'api');
      const result = serializeOptOut(optOut);
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  /**
   * The customer agreed to receive the channel again (you hold their consent): their opt-out and
   * the suppression of their current address go, with `customer.resubscribed`. 404 when neither exists.
   */
  async optIn(write: WriteContext<OptOutObject & { deleted: true }>, customerId: string, channel: Channel): Promise<OptOutObject & { deleted: true }> {
    return this.deps.db.$transaction(async (tx) => {
      const customer = await this.deps.customers.find(tx, write, customerId);
      const existing = await tx.messageOptOut.findUnique({ where: { customerId_channel: { customerId: customer.id, channel } } });
      if (existing) await tx.messageOptOut.delete({ where: { customerId_channel: { customerId: customer.id, channel } } });
      const [released] = await this.deps.suppressions.release(tx, customer, channel, channel === 'email' ? customer.email : customer.phone);
      if (!existing && !released) throw new NotFoundError(`${channel} opt-out of customer`, customer.id, 'channel');
      await recordEvents(tx, write, [
        { type: 'customer.resubscribed', object: serializeCustomer(customer), customerId: customer.id, extra: { channel } },
      ]);
      const result = {
        ...serializeOptOut(existing ?? { customerId: customer.id, channel, source: released!.source, createdAt: released!.createdAt }),
        deleted: true as const,
      };
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  /** The link a marketing message carries: it opts its customer out of the channel. */
  unsubscribeUrl(customerId: string, channel: Channel): string {
    return `${this.deps.publicBaseUrl}/unsubscribe/${unsubscribeToken({ customerId, channel }, this.deps.unsubscribeKeys[0]!)}`;
  }

  /**
   * What an unsubscribe link opts out of, if it is genuine, and the name (of the customer's
   * environment) the page shows.
   */
  async checkUnsubscribeToken(token: string): Promise<{ channel: Channel; merchantName: string | null } | undefined> {
    const target = verifyUnsubscribeToken(token, this.deps.unsubscribeKeys);
    if (!target) return undefined;
    const customer = await this.deps.db.customer.findUnique({ where: { id: target.customerId } });
    const settings = customer && (await findSettings(this.deps.db, customer));
    return { channel: target.channel, merchantName: settings?.name ?? null };
  }

  /**
   * A followed unsubscribe link (RFC 8058 one-click POST, or the confirmation page's button).
   * Undefined for a forged or unknown link; repeating it changes nothing.
   */
  async unsubscribe(token: string): Promise<{ channel: Channel } | undefined> {
    const target = verifyUnsubscribeToken(token, this.deps.unsubscribeKeys);
    if (!target) return undefined;
    await this.deps.db.$transaction(async (tx) => {
      const customer = await tx.customer.findUnique({ where: { id: target.customerId } });
      // A deleted customer receives nothing any more: there is nothing left to opt out of.
      if (customer && customer.status !== 'deleted') await this.recordOptOut(tx, customer.id, target.channel, 'unsubscribe_link');
    });
    return { channel: target.channel };
  }

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
    return this.deps.db.$executeRaw`
      UPDATE messages SET subject = NULL, data = NULL, updated_at = now()
      WHERE id = ANY(ARRAY(
        SELECT id FROM messages
        WHERE status IN ('sent', 'skipped', 'failed') AND (subject IS NOT NULL OR data IS NOT NULL) AND created_at < ${cutoff}
        ORDER BY created_at
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED))`;
  }

  /**
   * The customer's opt-out of a channel, and the address it was reached at on the suppression list
   * (by default the customer's current one), so the opt-out outlives the customer.
   */
  private async recordOptOut(tx: DbTx, customerId: string, channel: Channel, source: OptOutSource, address?: string) {
    const customer = await tx.customer.findUniqueOrThrow({ where: { id: customerId } });
    const inserted = await tx.$executeRaw`
      INSERT INTO message_opt_outs (customer_id, channel, merchant_id, environment, source)
      VALUES (${customerId}, ${channel}::"MessageChannel", ${customer.merchantId}, ${customer.environment}::"Environment", ${source})
      ON CONFLICT (customer_id, channel) DO NOTHING`;
    await this.deps.suppressions.suppress(tx, customer, channel, address ?? (channel === 'email' ? customer.email : customer.phone), source);
    if (inserted > 0) {
      await recordEvents(tx, customer, [
        { type: 'customer.unsubscribed', object: serializeCustomer(customer), customerId, extra: { channel, source } },
      ]);
    }
    return tx.messageOptOut.findUniqueOrThrow({ where: { customerId_channel: { customerId, channel } } });
  }

  // --- Sending -------------------------------------------------------------------------------------

  /** Why nothing can be sent on a channel at all, if so: a skip reason. */
  unavailableChannel(channel: Channel): string | null {
    return channel === 'sms' && !this.deps.sms ? NO_SMS_PROVIDER : null;
  }

  /** What a claimed (`sending`) row records of the message it is about to send. */
  sendingColumns(content: MessageContent) {
    return {
      recipient: content.to,
      subject: content.channel === 'email' ? content.subject : null,
      segments: content.channel === 'sms' ? smsSize(content.body).segments : null,
      provider: content.channel === 'email' ? 'smtp' : (this.deps.sms?.name ?? null),
      lockedUntil: new Date(this.deps.clock.now().getTime() + SENDING_LEASE_MS),
    };
  }

  /**
   * Claims a `queued` row for one provider call (`sending`, committed before the call), with what
   * it will be sent as. False when the row is not queued any more.
   */
  async claim(db: Db | DbTx, messageId: string, content: MessageContent): Promise<boolean> {
    const columns = this.sendingColumns(content);
    const claimed = await db.$executeRaw`
      UPDATE messages SET status = 'sending', attempts = attempts + 1, recipient = ${columns.recipient}, subject = ${columns.subject},
        segments = ${columns.segments}, provider = ${columns.provider}, error = NULL, locked_until = ${columns.lockedUntil}, updated_at = now()
      WHERE id = ${messageId} AND status = 'queued'`;
    return claimed > 0;
  }

  /**
   * The provider call for a claimed row, and what it came to. Nothing is written to the row here
   * (see `recordStatement`), except an opt-out the provider reports.
   */
  async send(message: SendingMessage, content: MessageContent, options: { finalAttempt: boolean }): Promise<SendResult> {
    try {
      const providerMessageId =
        content.channel === 'email'
          ? (await this.deps.mailer.send({ ...content, idempotencyKey: message.idempotencyKey })).messageId
          : (await this.smsProvider().send({ to: content.to, body: content.body, idempotencyKey: message.idempotencyKey })).id;
      return { status: 'sent', providerMessageId };
    } catch (error) {
      const failure = error instanceof DeliveryError ? error : new DeliveryError('ambiguous', error instanceof Error ? error.message : String(error));
      if (failure.recipientOptedOut && message.customerId) await this.providerOptOut(message.customerId, content.channel, content.to);
      this.deps.logger.warn({ messageId: message.id, kind: failure.kind, err: failure }, 'message not sent');
      if (failure.kind === 'not_sent') {
        return options.finalAttempt ? { status: 'failed', error: `gave up retrying: ${failure.message}` } : { status: 'retry', error: failure.message };
      }
      return { status: failure.kind === 'rejected' ? 'failed' : 'unknown', error: failure.message };
    }
  }

  /**
   * The statement that records a call's outcome on its `sending` row: final, or back to `queued`
   * (at `retryAt`) when it certainly did not send. Callers may run it with their own next step.
   */
  recordStatement(messageId: string, result: SendResult, retryAt: Date): Prisma.Sql {
    const now = this.deps.clock.now();
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

  /** `send` and `recordStatement` together. */
  async deliver(message: SendingMessage, content: MessageContent, options: { finalAttempt: boolean; retryAt: Date }): Promise<SendResult> {
    const result = await this.send(message, content, options);
    await this.deps.db.$executeRaw(this.recordStatement(message.id, result, options.retryAt));
    return result;
  }

  /** A `sending` row found by a later attempt: its call was cut off, it is never sent again. */
  interruptedResult(): { status: 'unknown'; error: string } {
    return {
      status: 'unknown',
      error: 'the send was interrupted (worker stopped or timed out during the provider call); not sent again so it cannot arrive twice',
    };
  }

  async markInterrupted(messageId: string): Promise<void> {
    await this.deps.db.$executeRaw(this.recordStatement(messageId, this.interruptedResult(), this.deps.clock.now()));
  }

  /** Callers skip SMS without a provider (`unavailableChannel`); one reaching here is refused, not sent. */
  private smsProvider(): SmsProvider {
    if (!this.deps.sms) throw new DeliveryError('rejected', NO_SMS_PROVIDER);
    return this.deps.sms;
  }

  private async providerOptOut(customerId: string, channel: Channel, address: string): Promise<void> {
    await this.deps.db.$transaction((tx) => this.recordOptOut(tx, customerId, channel, 'provider', address)).catch((error: unknown) => {
      this.deps.logger.warn({ err: error, customerId }, 'could not record the opt-out the provider reported');
    });
  }
}
