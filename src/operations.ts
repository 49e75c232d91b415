import { analyticsOperations } from './analytics/analytics.routes.js';
import { couponOperations } from './billing/coupons/coupon.routes.js';
import { creditNoteOperations } from './billing/credit-notes/credit-note.routes.js';
import { invoiceOperations } from './billing/invoices/invoice.routes.js';
import { paymentOperations } from './billing/payments/payment.routes.js';
import { subscriptionOperations } from './billing/subscriptions/subscription.routes.js';
import { walletOperations } from './billing/wallets/wallet.routes.js';
import { customerExportOperations } from './customers/customer-export.routes.js';
import { customerOperations } from './customers/customer.routes.js';
import { deletionOperations } from './deletions/deletion.routes.js';
import { eventOperations } from './events/event.routes.js';
import { healthOperations } from './http/health.js';
import { merchantOperations } from './merchants/merchant.routes.js';
import { messageOperations } from './messaging/message.routes.js';
import { suppressionOperations } from './messaging/suppression.routes.js';
import { sequenceOperations } from './sequences/sequence.routes.js';
import type { DepsOf } from './http/operation.js';
import { webhookOperations } from './webhooks/webhook.routes.js';

/**
 * Every endpoint of the API, from each resource's own declaration. The router, the OpenAPI
 * document and the SDK are derived from this list: a new resource adds its operations here.
 */
export const OPERATIONS = {
  ...healthOperations,
  ...customerOperations,
  ...deletionOperations,
  ...customerExportOperations,
  ...paymentOperations,
  ...subscriptionOperations,
  ...invoiceOperations,
  ...creditNoteOperations,
  ...walletOperations,
  ...couponOperations,
  ...webhookOperations,
  ...eventOperations,
  ...sequenceOperations,
  ...messageOperations,
  ...suppressionOperations,
  ...merchantOperations,
  ...analyticsOperations,
};

export type Operations = typeof OPERATIONS;
/** What the handlers of every operation need: the composition root provides it. */
export type OperationDeps = DepsOf<Operations>;
