import type { CustomerService } from '../customers/customer.service.js';
import type { CustomerStore } from '../customers/customer.store.js';
import { serializeCustomer } from '../customers/customer.serializer.js';
import type { Db, DbTx } from '../db.js';
import { recordEvents } from '../events/outbox.js';
import type { Message } from '../generated/prisma/client.js';
import type { Clock } from '../lib/clock.js';
import { findSettings } from '../merchants/merchant-settings.store.js';
import { NotFoundError } from '../lib/errors.js';
import type { Page } from '../lib/pagination.js';
import type { Scope, WriteContext } from '../lib/scope.js';
import type { Logger } from '../logger.js';
import { DeliveryError } from './delivery-error.js';
import type { Mailer } from './mailer.js';
import type { Channel, ListMessagesQuery, MessageObject, OptOutObject } from './message.schemas.js';
import { serializeMessage, serializeOptOut } from './message.serializer.js';
import { SENDING_LEASE_MS, type MessageStore, type OptOutSource, type SendingColumns, type SendResult } from './message.store.js';
import type { SmsProvider } from './sms.js';
import { smsSize } from './sms-segments.js';
import type { SuppressionStore } from './suppression.store.js';
import { unsubscribeToken, verifyUnsubscribeToken } from './unsubscribe-token.js';

export type { SendResult };

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

/** The identity of a message row being sent. */
export type SendingMessage = Pick<Message, 'id' | 'idempotencyKey' | 'merchantId' | 'environment' | 'customerId'>;

export interface MessageServiceDeps {
  db: Db;
  store: MessageStore;
  mailer: Mailer;
  /** None configured (SMS_PROVIDER=none): SMS are not sent but skipped (see `unavailableChannel`). */
  sms: SmsProvider | undefined;
  customers: CustomerService;
  /** The customer an opt-out is recorded for, by id alone (a link or the provider knows no tenant). */
  customerStore: Pick<CustomerStore, 'byId'>;
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

/**
 * Messages and their channels: the API over a customer's messages and opt-outs, the unsubscribe
 * link, and the provider call other features make for a message row they claimed (the rows and
 * their states are the MessageStore's).
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
    return this.deps.store.list(where, query, serializeMessage);
  }

  async listOptOuts(scope: Scope, customerId: string): Promise<{ object: 'list'; data: OptOutObject[] }> {
    const customer = await this.deps.customers.find(this.deps.db, scope, customerId);
    const rows = await this.deps.store.optOutsOf(customer.id);
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
      const existing = await this.deps.store.findOptOut(tx, customer.id, channel);
      if (existing) await this.deps.store.deleteOptOut(tx, customer.id, channel);
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
    const customer = await this.deps.store.findCustomer(target.customerId);
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
      const customer = await this.deps.store.findCustomer(target.customerId, tx);
      // A deleted customer receives nothing any more: there is nothing left to opt out of.
      if (customer && customer.status !== 'deleted') await this.recordOptOut(tx, customer.id, target.channel, 'unsubscribe_link');
    });
    return { channel: target.channel };
  }

  /** Erasure (GDPR), the deletion saga's last step: see MessageStore.eraseCustomer. */
  async eraseCustomer(tx: DbTx, customerId: string): Promise<number> {
    return this.deps.store.eraseCustomer(tx, customerId);
  }

  /** Retention: see MessageStore.pruneBodies. */
  async pruneBodies(cutoff: Date, limit: number): Promise<number> {
    return this.deps.store.pruneBodies(cutoff, limit);
  }

  /**
   * The customer's opt-out of a channel, and the address it was reached at on the suppression list
   * (by default the customer's current one), so the opt-out outlives the customer.
   */
  private async recordOptOut(tx: DbTx, customerId: string, channel: Channel, source: OptOutSource, address?: string) {
    const customer = await this.deps.customerStore.byId(tx, customerId);
    const inserted = await this.deps.store.insertOptOut(tx, customer, channel, source);
    await this.deps.suppressions.suppress(tx, customer, channel, address ?? (channel === 'email' ? customer.email : customer.phone), source);
    if (inserted) {
      await recordEvents(tx, customer, [
        { type: 'customer.unsubscribed', object: serializeCustomer(customer), customerId, extra: { channel, source } },
      ]);
    }
    return this.deps.store.getOptOut(tx, customerId, channel);
  }

  // --- Sending -------------------------------------------------------------------------------------

  /** Why nothing can be sent on a channel at all, if so: a skip reason. */
  unavailableChannel(channel: Channel): string | null {
    return channel === 'sms' && !this.deps.sms ? NO_SMS_PROVIDER : null;
  }

  /** What a claimed (`sending`) row records of the message it is about to send. */
  sendingColumns(content: MessageContent): SendingColumns {
    return {
      recipient: content.to,
      subject: content.channel === 'email' ? content.subject : null,
      segments: content.channel === 'sms' ? smsSize(content.body).segments : null,
      provider: content.channel === 'email' ? 'smtp' : (this.deps.sms?.name ?? null),
      lockedUntil: new Date(this.deps.clock.now().getTime() + SENDING_LEASE_MS),
    };
  }

  /**
   * The provider call for a claimed row, and what it came to. Nothing is written to the row here
   * (the caller records the outcome with MessageStore), except an opt-out the provider reports.
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
