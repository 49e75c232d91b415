import type { AppliedCoupon } from '../../generated/prisma/client.js';
import { wireInteger } from '../../lib/money.js';
import type { AppliedCouponObject } from './coupon.schemas.js';

export function serializeAppliedCoupon(coupon: AppliedCoupon): AppliedCouponObject {
  return {
    id: coupon.id,
    object: 'applied_coupon',
    customer_id: coupon.customerId,
    coupon_code: coupon.couponCode,
    amount_off: coupon.amountOff === null ? null : wireInteger(coupon.amountOff),
    currency: coupon.currency,
    percent_off: coupon.percentOff,
    frequency: coupon.frequency,
    amount_remaining: coupon.amountRemaining === null ? null : wireInteger(coupon.amountRemaining),
    status: coupon.status,
    created: coupon.createdAt.toISOString(),
    terminated_at: coupon.terminatedAt?.toISOString() ?? null,
  };
}
