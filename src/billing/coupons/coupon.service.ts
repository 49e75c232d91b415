import type { CustomerService } from '../../customers/customer.service.js';
import type { Db, DbTx, Prisma } from '../../db.js';
import { recordEvents } from '../../events/outbox.js';
import type { AppliedCoupon } from '../../generated/prisma/client.js';
import { ConflictError, NotFoundError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { paginate, type Page } from '../../lib/pagination.js';
import type { Scope, WriteContext } from '../../lib/scope.js';
import { lockBillableCustomer, lockCustomerRows, lockForUpdate } from '../billing.customer.js';
import { summarize } from '../../lib/summary.js';
import { inBatches, type SagaStepOptions } from '../billing.saga.js';
import type { AppliedCouponObject, ApplyCouponBody, ListAppliedCouponsQuery } from './coupon.schemas.js';
import { serializeAppliedCoupon } from './coupon.serializer.js';
import { terminateCoupons } from './coupon.ledger.js';

/**
 * Coupons applied to customers. They discount the customer's subscription invoices when those are
 * created (see coupon.ledger.ts); terminating one stops that.
 */
export class CouponService {
  constructor(private readonly deps: { db: Db; customers: CustomerService; batchSize: number }) {}

  async apply(write: WriteContext<AppliedCouponObject>, body: ApplyCouponBody): Promise<AppliedCouponObject> {
    return this.deps.db.$transaction(async (tx) => {
      const customer = await lockBillableCustomer(tx, write, body.customer_id, { ...(body.currency && { currency: body.currency }) });
      const twin = await tx.appliedCoupon.findFirst({ where: { customerId: customer.id, couponCode: body.coupon_code, status: 'active' } });
      if (twin) throw new ConflictError(`Coupon ${body.coupon_code} is already applied to ${customer.id}: ${twin.id}`, 'coupon_code');
      const now = new Date();
      const amountOff = body.amount_off == null ? null : BigInt(body.amount_off);
      const coupon = await tx.appliedCoupon.create({
        data: {
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
      });
      const result = serializeAppliedCoupon(coupon);
      await recordEvents(tx, write, [{ type: 'applied_coupon.created', object: result, customerId: customer.id }]);
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  /** Terminates an applied coupon; one already terminated is answered as it is. */
  async terminate(write: WriteContext<AppliedCouponObject>, id: string): Promise<AppliedCouponObject> {
    return this.deps.db.$transaction(async (tx) => {
      const [locked] = await lockForUpdate(tx, 'applied_coupons', write, [id]);
      if (!locked) throw new NotFoundError('applied coupon', id, 'id');
      const coupon = await tx.appliedCoupon.findUniqueOrThrow({ where: { id: locked } });
      const [terminated] = await terminateCoupons(tx, [coupon], new Date());
      const result = serializeAppliedCoupon(terminated ?? coupon);
      await write.commitReply?.(tx, result);
      return result;
    });
  }

  /** Deletion saga, step 2: every active coupon of the customer is terminated. */
  async terminateForCustomer(customerId: string, options?: SagaStepOptions): Promise<string> {
    const terminated = await inBatches(
      this.deps.db,
      this.deps.batchSize,
      async (tx, limit) => {
        const ids = await lockCustomerRows(tx, 'applied_coupons', customerId, ['active'], limit);
        const coupons = await tx.appliedCoupon.findMany({ where: { id: { in: ids } }, orderBy: { id: 'asc' } });
        await terminateCoupons(tx, coupons, new Date());
        return ids.length;
      },
      options,
    );
    return summarize([[terminated, 'coupons terminated']]);
  }

  async get(scope: Scope, id: string): Promise<AppliedCouponObject> {
    return serializeAppliedCoupon(await this.find(this.deps.db, scope, id));
  }

  async list(scope: Scope, query: ListAppliedCouponsQuery): Promise<Page<AppliedCouponObject>> {
    const where: Prisma.AppliedCouponWhereInput = {
      merchantId: scope.merchantId,
      environment: scope.environment,
      ...(query.customer_id !== undefined && { customerId: query.customer_id }),
      ...(query.status !== undefined && { status: query.status }),
    };
    return paginate(this.deps.db.appliedCoupon, where, query, serializeAppliedCoupon);
  }

  async listForCustomer(scope: Scope, customerId: string, query: Omit<ListAppliedCouponsQuery, 'customer_id'>): Promise<Page<AppliedCouponObject>> {
    const customer = await this.deps.customers.find(this.deps.db, scope, customerId);
    return this.list(scope, { ...query, customer_id: customer.id });
  }

  private async find(db: Db | DbTx, scope: Scope, id: string): Promise<AppliedCoupon> {
    const coupon = await db.appliedCoupon.findFirst({ where: { id, merchantId: scope.merchantId, environment: scope.environment } });
    if (!coupon) throw new NotFoundError('applied coupon', id, 'id');
    return coupon;
  }
}
