import type { CustomerService } from '../../customers/customer.service.js';
import type { Db } from '../../db.js';
import { recordEvents } from '../../events/outbox.js';
import type { AppliedCoupon } from '../../generated/prisma/client.js';
import { ConflictError, NotFoundError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { Page } from '../../lib/pagination.js';
import type { Scope, WriteContext } from '../../lib/scope.js';
import { lockBillableCustomer } from '../billing.customer.js';
import type { AppliedCouponObject, ApplyCouponBody, ListAppliedCouponsQuery } from './coupon.schemas.js';
import { serializeAppliedCoupon } from './coupon.serializer.js';
import type { CouponLedger } from './coupon.ledger.js';
import type { CouponStore } from './coupon.store.js';

/**
 * Coupons applied to customers. They discount the customer's subscription invoices when those are
 * created (see coupon.ledger.ts); terminating one stops that.
 */
export class CouponService {
  constructor(private readonly deps: { db: Db; customers: CustomerService; store: CouponStore; ledger: CouponLedger }) {}

  async apply(write: WriteContext<AppliedCouponObject>, body: ApplyCouponBody): Promise<AppliedCouponObject> {
    const { store } = this.deps;
    return this.deps.db.$transaction(async (tx) => {
      const customer = await lockBillableCustomer(tx, write, body.customer_id, { ...(body.currency && { currency: body.currency }) });
      const twin = await store.findActive(customer.id, body.coupon_code, tx);
      if (twin) throw new ConflictError(`Coupon ${body.coupon_code} is already applied to ${customer.id}: ${twin.id}`, 'coupon_code');
      const now = new Date();
      const amountOff = body.amount_off == null ? null : BigInt(body.amount_off);
      const coupon = await store.create(
        {
          id: newId('appliedCoupon'),
          merchantId: write.merchantId,
          environment: write.environment,
          customerId: customer.id,
          couponCode: body.coupon_code,
          amountOff,
          currency: body.currency ?? null,
          percentOff: body.percent_off ?? null,
          frequency: body.frequency,
          amountRemaining: amountOff !== null && body.frequency === 'once' ? amountOff : null,
          createdAt: now,
          updatedAt: now,
        },
        tx,
      );
      const result = serializeAppliedCoupon(coupon);
      await recordEvents(tx, write, [{ type: 'applied_coupon.created', object: result, customerId: customer.id }]);
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  /** Terminates an applied coupon; one already terminated is answered as it is. */
  async terminate(write: WriteContext<AppliedCouponObject>, id: string): Promise<AppliedCouponObject> {
    return this.deps.db.$transaction(async (tx) => {
      const coupon = await this.deps.store.lock(write, id, tx);
      if (!coupon) throw new NotFoundError('applied coupon', id, 'id');
      const [terminated] = await this.deps.ledger.terminate(tx, [coupon], new Date());
      const result = serializeAppliedCoupon(terminated ?? coupon);
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  async get(scope: Scope, id: string): Promise<AppliedCouponObject> {
    return serializeAppliedCoupon(await this.find(scope, id));
  }

  async list(scope: Scope, query: ListAppliedCouponsQuery): Promise<Page<AppliedCouponObject>> {
    return this.deps.store.list(scope, query, serializeAppliedCoupon);
  }

  async listForCustomer(scope: Scope, customerId: string, query: Omit<ListAppliedCouponsQuery, 'customer_id'>): Promise<Page<AppliedCouponObject>> {
    const customer = await this.deps.customers.find(this.deps.db, scope, customerId);
    return this.list(scope, { ...query, customer_id: customer.id });
  }

  private async find(scope: Scope, id: string): Promise<AppliedCoupon> {
    const coupon = await this.deps.store.find(scope, id);
    if (!coupon) throw new NotFoundError('applied coupon', id, 'id');
    return coupon;
  }
}
