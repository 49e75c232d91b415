import type { Subscription } from '../../generated/prisma/client.js';
import { wireInteger } from '../../lib/money.js';
import type { SubscriptionObject } from './subscription.schemas.js';

export function serializeSubscription(subscription: Subscription): SubscriptionObject {
  return {
    id: subscription.id,
    object: 'subscription',
    customer_id: subscription.customerId,
    plan_code: subscription.planCode,
    amount: wireInteger(subscription.amount),
    currency: subscription.currency,
    interval: subscription.interval,
    billing_time: subscription.billingTime,
    status: subscription.status,
    current_period_start: subscription.currentPeriodStart.toISOString(),
    current_period_end: subscription.currentPeriodEnd.toISOString(),
    canceled_at: subscription.canceledAt?.toISOString() ?? null,
    terminated_at: subscription.terminatedAt?.toISOString() ?? null,
    created: subscription.createdAt.toISOString(),
  };
}
