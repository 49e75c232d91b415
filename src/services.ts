import type { Client } from '@temporalio/client';
import { BillingService } from './billing/billing.service';
import type { Config } from './config';
import { CustomerService } from './customers/customer.service';
import type { Db } from './db';
import { DeletionService } from './deletions/deletion.service';
import { EventDispatcher } from './events/event.service';
import type { Logger } from './logger';
import { MerchantService } from './merchants/merchant.service';
import { WebhookService } from './webhooks/webhook.service';

export interface ServiceDeps {
  db: Db;
  temporal: Client;
  config: Config;
  logger: Logger;
}

export type Services = ReturnType<typeof createServices>;

/** The domain services, built once per process and shared by the HTTP routes and the activities. */
export function createServices({ db, temporal, config, logger }: ServiceDeps) {
  const events = new EventDispatcher({
    db,
    temporal,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    retry: { initialInterval: config.WEBHOOK_RETRY_INITIAL_INTERVAL, maximumAttempts: config.WEBHOOK_MAX_ATTEMPTS },
    logger,
  });
  const customers = new CustomerService({ db, events, logger });
  return {
    events,
    merchants: new MerchantService({ db }),
    customers,
    billing: new BillingService({ db, customers }),
    deletions: new DeletionService({ db, temporal, taskQueue: config.TEMPORAL_TASK_QUEUE, events, logger }),
    webhooks: new WebhookService({
      db,
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      allowPrivateTargets: config.WEBHOOK_ALLOW_PRIVATE_TARGETS,
    }),
  };
}
