import type { Client } from '@temporalio/client';
import { AnalyticsService } from './analytics/analytics.service.js';
import { AnalyticsStore } from './analytics/analytics.store.js';
import { DigestService } from './analytics/digest.service.js';
import { statsReactions } from './analytics/stats.reactions.js';
import { StatsService } from './analytics/stats.service.js';
import { StatsStore } from './analytics/stats.store.js';
import { CouponService } from './billing/coupons/coupon.service.js';
import { CreditNoteService } from './billing/credit-notes/credit-note.service.js';
import { InvoiceService } from './billing/invoices/invoice.service.js';
import { PaymentService } from './billing/payments/payment.service.js';
import { SubscriptionService } from './billing/subscriptions/subscription.service.js';
import { WalletService } from './billing/wallets/wallet.service.js';
import { ltvRollupSettings, publicBaseUrl, renderSettings, secretBox, smsProviderName, suppressionHashKeys, temporalUiUrl, unsubscribeSigningKeys, type Config } from './config.js';
import { CustomerService } from './customers/customer.service.js';
import { CustomerStore } from './customers/customer.store.js';
import type { Db, SqlPool } from './db.js';
import { DeletionService } from './deletions/deletion.service.js';
import { DeletionStore } from './deletions/deletion.store.js';
import { idempotencyReplyStore, type PersonalDataStore } from './deletions/erasure.service.js';
import type { EventSubscriber, ParkedEventHandler } from './events/event-bus.js';
import { EventService } from './events/event.service.js';
import { eraseCustomerFromEvents } from './events/outbox.js';
import { HealthStore } from './http/health.store.js';
import { IdempotencyStore } from './idempotency/idempotency.store.js';
import { systemClock, type Clock } from './lib/clock.js';
import type { Logger } from './logger.js';
import { MerchantService } from './merchants/merchant.service.js';
import { createMailer, type Mailer } from './messaging/mailer.js';
import { MessageQueueService } from './messaging/message-queue.service.js';
import { MessageService } from './messaging/message.service.js';
import { messageSubscriber } from './messaging/message.subscriber.js';
import { devSmsProvider, twilioProvider, type SmsProvider } from './messaging/sms.js';
import { SuppressionList } from './messaging/suppression.service.js';
import { SequenceRenderer } from './sequences/sequence.renderer.js';
import { SequenceService } from './sequences/sequence.service.js';
import { TemporalGateway } from './temporal/gateway.js';
import { sequenceSubscriber } from './sequences/sequence.subscriber.js';
import type { OperationDeps } from './operations.js';
import { webhookReactions } from './webhooks/webhook.reactions.js';
import { WebhookService, type EndpointFailure } from './webhooks/webhook.service.js';
import { WebhookStore } from './webhooks/webhook.store.js';

export interface ServiceDeps {
  db: Db;
  pool: SqlPool;
  temporal: Client;
  config: Config;
  logger: Logger;
  /** Tests hand in their own clock (a send window's edge), mailer or SMS provider (a crash after a send). */
  clock?: Clock;
  mailer?: Mailer;
  sms?: SmsProvider;
}

/** The SMS provider SMS_PROVIDER names: Twilio, the development one that only records, or none. */
function smsProvider(config: Config, mailer: Mailer, logger: Logger): SmsProvider | undefined {
  const name = smsProviderName(config);
  if (name === 'none') {
    logger.info('no SMS provider configured (SMS_PROVIDER): SMS steps of sequences are recorded as skipped');
    return undefined;
  }
  if (name === 'dev') return devSmsProvider({ mailer, logger });
  return twilioProvider({
    accountSid: config.TWILIO_ACCOUNT_SID!,
    authToken: config.TWILIO_AUTH_TOKEN!,
    from: config.TWILIO_FROM!,
    apiUrl: config.TWILIO_API_URL,
  });
}

export type Services = ReturnType<typeof createServices>;

/**
 * The domain services, built once per process and shared by the HTTP operations, the activities
 * and the event bus. `satisfies OperationDeps`: every operation's handler finds what it needs.
 */
export function createServices({ db, pool, temporal, config, logger, clock = systemClock, ...overrides }: ServiceDeps) {
  const gateway = new TemporalGateway(temporal, config.TEMPORAL_TASK_QUEUE, logger);
  // The feature stores: the services use them, and activities/ builds the steps from them.
  const stores = {
    customers: new CustomerStore({ db, pool }),
    deletions: new DeletionStore(db),
    idempotency: new IdempotencyStore(db),
    webhooks: new WebhookStore(db),
    stats: new StatsStore(db),
    analytics: new AnalyticsStore(db),
  };
  const customers = new CustomerService({ db, store: stores.customers, logger });
  const batchSize = config.DELETION_BATCH_SIZE;
  const mailer = overrides.mailer ?? createMailer({ smtpUrl: config.SMTP_URL, from: config.MAIL_FROM });
  const suppressions = new SuppressionList({ db, keys: suppressionHashKeys(config) });
  const messages = new MessageService({
    db,
    mailer,
    sms: overrides.sms ?? smsProvider(config, mailer, logger),
    customers,
    suppressions,
    clock,
    logger,
    unsubscribeKeys: unsubscribeSigningKeys(config),
    publicBaseUrl: publicBaseUrl(config),
  });
  const analytics = new AnalyticsService({ store: stores.analytics });
  const digests = new DigestService({ store: stores.analytics, analytics });
  const messageQueue = new MessageQueueService({
    db,
    temporal: gateway,
    messages,
    digests,
    clock,
    logger,
    retrySchedule: config.MESSAGE_RETRY_SCHEDULE,
  });
  const ui = { url: temporalUiUrl(config), namespace: config.TEMPORAL_NAMESPACE };
  // Every store of a customer's personal data, erased by the deletion saga's last step.
  const personalData: PersonalDataStore[] = [
    { name: 'customer profile', erase: (tx, { customerId }) => stores.customers.eraseProfile(tx, customerId) },
    { name: 'event payloads', erase: (tx, { customerId }) => eraseCustomerFromEvents(tx, customerId) },
    idempotencyReplyStore,
    { name: 'messages', erase: (tx, { customerId }) => messages.eraseCustomer(tx, customerId) },
  ];
  const secrets = secretBox(config);
  const allowPrivateTargets = config.WEBHOOK_ALLOW_PRIVATE_TARGETS;
  const renderer = new SequenceRenderer(renderSettings(config));
  const services = {
    merchants: new MerchantService({ db, keyCacheMs: config.API_KEY_CACHE_MS, logger }),
    customers,
    payments: new PaymentService({ db, customers }),
    subscriptions: new SubscriptionService({ db, customers, batchSize }),
    invoices: new InvoiceService({ db, customers, batchSize }),
    creditNotes: new CreditNoteService({ db, customers }),
    wallets: new WalletService({ db, customers, batchSize }),
    coupons: new CouponService({ db, customers, batchSize }),
    deletions: new DeletionService({
      db,
      customers: stores.customers,
      deletions: stores.deletions,
      temporal: gateway,
      ui,
      logger,
    }),
    webhooks: new WebhookService({ db, store: stores.webhooks, temporal: gateway, allowPrivateTargets, secrets, logger }),
    // What the webhook delivery activity is built from (activities/webhook.activities.ts).
    webhookDelivery: {
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      allowPrivateTargets,
      retrySchedule: config.WEBHOOK_RETRY_SCHEDULE,
      secrets,
      logger,
      failingAfterAttempts: config.WEBHOOK_FAILING_AFTER_ATTEMPTS,
      onEndpointFailing: (failure: EndpointFailure) => messageQueue.endpointFailing(failure),
    },
    events: new EventService({ db }),
    mailer,
    messages,
    suppressions,
    messageQueue,
    renderer,
    sequences: new SequenceService({ db, temporal: gateway, customers, messages, suppressions, renderer, clock, logger, startRate: config.SEQUENCE_START_RATE }),
    analytics,
    stats: new StatsService({ db, store: stores.stats, temporal: gateway, ui, rollup: ltvRollupSettings(config) }),
    probes: { database: new HealthStore(db), temporal: gateway },
    // What the worker's background passes and the activities' steps work with directly: the
    // transactions' client, the stores, the UI links and the stores of personal data.
    db,
    stores,
    ui,
    personalData,
  };
  return services satisfies OperationDeps;
}

/**
 * The reactions to committed events, in the order each batch reaches them. A new reaction (a
 * subscriber) is added here and nowhere else.
 */
export function createSubscribers(services: Services): EventSubscriber[] {
  return [
    webhookReactions({ store: services.stores.webhooks, webhooks: services.webhooks }),
    sequenceSubscriber(services.sequences),
    messageSubscriber(services.messageQueue),
    statsReactions(services.stores.stats),
  ];
}

/** What the event bus does when it parks an event: the merchant is emailed, once per parking. */
export function onEventParked(services: Services): ParkedEventHandler {
  return (tx, event) => services.messageQueue.eventParked(tx, event);
}
