import type { Client } from '@temporalio/client';
import { AnalyticsService } from './analytics/analytics.service.js';
import { AnalyticsStore } from './analytics/analytics.store.js';
import { DigestService } from './analytics/digest.service.js';
import { statsReactions } from './analytics/stats.reactions.js';
import { StatsService } from './analytics/stats.service.js';
import { StatsStore } from './analytics/stats.store.js';
import { createBillingLedgers } from './billing/billing.ledgers.js';
import { CouponService } from './billing/coupons/coupon.service.js';
import { CouponStore } from './billing/coupons/coupon.store.js';
import { CreditNoteService } from './billing/credit-notes/credit-note.service.js';
import { CreditNoteStore } from './billing/credit-notes/credit-note.store.js';
import { InvoiceService } from './billing/invoices/invoice.service.js';
import { InvoiceStore } from './billing/invoices/invoice.store.js';
import { PaymentService } from './billing/payments/payment.service.js';
import { PaymentStore } from './billing/payments/payment.store.js';
import { SubscriptionService } from './billing/subscriptions/subscription.service.js';
import { SubscriptionStore } from './billing/subscriptions/subscription.store.js';
import { WalletService } from './billing/wallets/wallet.service.js';
import { WalletStore } from './billing/wallets/wallet.store.js';
import { ltvRollupSettings, publicBaseUrl, renderSettings, secretBox, smsProviderName, suppressionHashKeys, temporalUiUrl, unsubscribeSigningKeys, type Config } from './config.js';
import { CustomerExportService } from './customers/customer-export.service.js';
import { CustomerExportStore } from './customers/customer-export.store.js';
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
import { messageReactions } from './messaging/message.reactions.js';
import { MessageService } from './messaging/message.service.js';
import { MessageStore } from './messaging/message.store.js';
import { devSmsProvider, twilioProvider, type SmsProvider } from './messaging/sms.js';
import { SuppressionService } from './messaging/suppression.service.js';
import { SuppressionStore } from './messaging/suppression.store.js';
import { SequenceRenderer } from './sequences/sequence.renderer.js';
import { sequenceReactions } from './sequences/sequence.reactions.js';
import { SequenceService } from './sequences/sequence.service.js';
import { SequenceEnrollmentStore } from './sequences/sequence-enrollment.store.js';
import { SequenceStore } from './sequences/sequence.store.js';
import { TemporalGateway } from './temporal/gateway.js';
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
  const suppressionStore = new SuppressionStore(db, suppressionHashKeys(config));
  const messageStore = new MessageStore(db, clock);
  const stores = {
    customers: new CustomerStore({ db, pool }),
    deletions: new DeletionStore(db),
    idempotency: new IdempotencyStore(db),
    subscriptions: new SubscriptionStore(db),
    invoices: new InvoiceStore(db),
    creditNotes: new CreditNoteStore(db),
    wallets: new WalletStore(db),
    coupons: new CouponStore(db),
    payments: new PaymentStore(db),
    suppressions: suppressionStore,
    messages: messageStore,
    sequences: new SequenceStore(db),
    sequenceEnrollments: new SequenceEnrollmentStore(db, suppressionStore, messageStore),
    webhooks: new WebhookStore(db),
    stats: new StatsStore(db),
    analytics: new AnalyticsStore(db),
    customerExports: new CustomerExportStore({ pool, suppressionMatch: (address) => suppressionStore.hashesAddress(address) }),
  };
  const ledgers = createBillingLedgers(stores);
  const customers = new CustomerService({ db, store: stores.customers, logger });
  const batchSize = config.DELETION_BATCH_SIZE;
  const mailer = overrides.mailer ?? createMailer({ smtpUrl: config.SMTP_URL, from: config.MAIL_FROM });
  const messages = new MessageService({
    db,
    store: stores.messages,
    mailer,
    sms: overrides.sms ?? smsProvider(config, mailer, logger),
    customers,
    customerStore: stores.customers,
    suppressions: stores.suppressions,
    clock,
    logger,
    unsubscribeKeys: unsubscribeSigningKeys(config),
    publicBaseUrl: publicBaseUrl(config),
  });
  const analytics = new AnalyticsService({ store: stores.analytics });
  const digests = new DigestService({ store: stores.analytics, analytics });
  const messageQueue = new MessageQueueService({ store: stores.messages, temporal: gateway, digests, clock, logger });
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
    customerExports: new CustomerExportService({ store: stores.customerExports }),
    payments: new PaymentService({ db, customers, store: stores.payments, invoices: stores.invoices, creditNotes: stores.creditNotes }),
    subscriptions: new SubscriptionService({ db, customers, store: stores.subscriptions, ledger: ledgers.subscriptions, invoices: ledgers.invoices }),
    invoices: new InvoiceService({ db, customers, store: stores.invoices, ledger: ledgers.invoices }),
    creditNotes: new CreditNoteService({ db, customers, store: stores.creditNotes, ledger: ledgers.creditNotes, invoices: stores.invoices }),
    wallets: new WalletService({ db, customers, store: stores.wallets, ledger: ledgers.wallets, invoices: ledgers.invoices }),
    coupons: new CouponService({ db, customers, store: stores.coupons, ledger: ledgers.coupons }),
    // With the stores, what the deletion saga's billing steps are built from (activities/billing.activities.ts).
    billingSaga: { batchSize, ledgers },
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
    suppressions: new SuppressionService({ db, store: stores.suppressions }),
    messageQueue,
    digests,
    renderer,
    sequences: new SequenceService({
      db,
      store: stores.sequences,
      enrollments: stores.sequenceEnrollments,
      temporal: gateway,
      customers,
      messages,
      messageStore: stores.messages,
      suppressions: stores.suppressions,
      renderer,
      clock,
      logger,
    }),
    analytics,
    stats: new StatsService({ db, store: stores.stats, temporal: gateway, ui, rollup: ltvRollupSettings(config) }),
    probes: { database: new HealthStore(db), temporal: gateway },
    // What the worker's background passes and the activities' steps work with directly: the
    // transactions' client, the stores, the UI links, the stores of personal data, the Temporal
    // gateway, the clock, the logger and the settings (config) the steps are tuned by.
    db,
    stores,
    ui,
    personalData,
    temporal: gateway,
    clock,
    logger,
    config,
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
    sequenceReactions({
      store: services.stores.sequences,
      enrollments: services.stores.sequenceEnrollments,
      sequences: services.sequences,
      clock: services.clock,
    }),
    messageReactions({ store: services.stores.messages, queue: services.messageQueue }),
    statsReactions(services.stores.stats),
  ];
}

/** What the event bus does when it parks an event: the merchant is emailed, once per parking. */
export function onEventParked(services: Services): ParkedEventHandler {
  return (tx, event) => services.messageQueue.eventParked(tx, event);
}
