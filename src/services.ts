import type { Client } from '@temporalio/client';
import { createTransport } from 'nodemailer';
import { AnalyticsService } from './analytics/analytics.service.js';
import { DigestService } from './analytics/digest.service.js';
import { StatsService } from './analytics/stats.service.js';
import { statsSubscriber } from './analytics/stats.subscriber.js';
import { CouponService } from './billing/coupons/coupon.service.js';
import { CreditNoteService } from './billing/credit-notes/credit-note.service.js';
import { InvoiceService } from './billing/invoices/invoice.service.js';
import { PaymentService } from './billing/payments/payment.service.js';
import { SubscriptionService } from './billing/subscriptions/subscription.service.js';
import { WalletService } from './billing/wallets/wallet.service.js';
import { ltvRollupSettings, secretBox, temporalUiUrl, type Config } from './config.js';
import { CustomerService } from './customers/customer.service.js';
import type { Db, SqlPool } from './db.js';
import { DeletionService } from './deletions/deletion.service.js';
import { customerProfileStore, ErasureService, eventPayloadStore, idempotencyReplyStore } from './deletions/erasure.service.js';
import type { EventSubscriber } from './events/event-bus.js';
import type { Logger } from './logger.js';
import { MerchantService } from './merchants/merchant.service.js';
import type { OperationDeps } from './operations.js';
import { WebhookService } from './webhooks/webhook.service.js';
import { webhookSubscriber } from './webhooks/webhook.subscriber.js';

export interface ServiceDeps {
  db: Db;
  pool: SqlPool;
  temporal: Client;
  config: Config;
  logger: Logger;
}

export type Services = ReturnType<typeof createServices>;

/**
 * The domain services, built once per process and shared by the HTTP operations, the activities
 * and the event bus. `satisfies OperationDeps`: every operation's handler finds what it needs.
 */
export function createServices({ db, pool, temporal, config, logger }: ServiceDeps) {
  const taskQueue = config.TEMPORAL_TASK_QUEUE;
  const customers = new CustomerService({ db, pool, logger });
  const batchSize = config.DELETION_BATCH_SIZE;
  const ui = { url: temporalUiUrl(config), namespace: config.TEMPORAL_NAMESPACE };
  const analytics = new AnalyticsService({ db });
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
      temporal,
      taskQueue,
      ui,
      logger,
    }),
    // Every store of a customer's personal data, erased by the deletion saga's last step.
    erasure: new ErasureService({ db, stores: [customerProfileStore, eventPayloadStore, idempotencyReplyStore] }),
    // The sequences issue replaces this with the sequence service, which stops the customer's enrollments.
    sequences: { stopForCustomer: async (_customerId: string) => {} },
    webhooks: new WebhookService({
      db,
      temporal,
      taskQueue,
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      allowPrivateTargets: config.WEBHOOK_ALLOW_PRIVATE_TARGETS,
      retrySchedule: config.WEBHOOK_RETRY_SCHEDULE,
      secrets: secretBox(config),
      logger,
    }),
    analytics,
    stats: new StatsService({ db, temporal, taskQueue, ui, rollup: ltvRollupSettings(config) }),
    digests: new DigestService({ db, analytics, mailer: createTransport(config.SMTP_URL), from: config.MAIL_FROM, logger }),
    probes: { db, temporal, namespace: config.TEMPORAL_NAMESPACE },
  };
  return services satisfies OperationDeps;
}

/**
 * The reactions to committed events, in the order each batch reaches them. A new reaction (a
 * subscriber) is added here and nowhere else.
 */
export function createSubscribers(services: Services): EventSubscriber[] {
  return [webhookSubscriber(services.webhooks), statsSubscriber(services.stats)];
}
