import type { Db, DbTx, Prisma } from '../../db.js';
import type { AppliedCoupon } from '../../generated/prisma/client.js';
import { paginate, type Page } from '../../lib/pagination.js';
import type { Scope } from '../../lib/scope.js';
import { lockCustomerRows, lockForUpdate } from '../billing.store.js';
import type { ListAppliedCouponsQuery } from './coupon.schemas.js';

/** The coupons applied to customers (`applied_coupons`), their one writer. */
export class CouponStore {
  constructor(private readonly db: Db) {}

  async create(data: Prisma.AppliedCouponUncheckedCreateInput, tx: DbTx): Promise<AppliedCoupon> {
    return tx.appliedCoupon.create({ data });
  }

  /** What is left of a `once` coupon after a discount; a used-up one (`active` false) is terminated. */
  async recordUse(id: string, use: { remaining: bigint | null; active: boolean }, now: Date, tx: DbTx): Promise<AppliedCoupon> {
    return tx.appliedCoupon.update({
      where: { id },
      data: { amountRemaining: use.remaining, ...(!use.active && { status: 'terminated', terminatedAt: now }), updatedAt: now },
    });
  }

  async terminate(ids: string[], now: Date, tx: DbTx): Promise<void> {
    await tx.appliedCoupon.updateMany({
      where: { id: { in: ids } },
      data: { status: 'terminated', terminatedAt: now, updatedAt: now },
    });
  }

  /** The applied coupon of the scope, locked for update; null when there is none. */
  async lock(scope: Scope, id: string, tx: DbTx): Promise<AppliedCoupon | null> {
    const [locked] = await lockForUpdate(tx, 'applied_coupons', scope, [id]);
    if (!locked) return null;
    return tx.appliedCoupon.findUniqueOrThrow({ where: { id: locked } });
  }

  /** Up to `limit` active coupons of a customer, oldest first, locked for update: their ids. */
  async lockActiveOfCustomer(customerId: string, limit: number, tx: DbTx): Promise<string[]> {
    return lockCustomerRows(tx, 'applied_coupons', customerId, ['active'], limit);
  }

  /** These coupons, oldest first. */
  async byIds(ids: string[], tx: DbTx): Promise<AppliedCoupon[]> {
    return tx.appliedCoupon.findMany({ where: { id: { in: ids } }, orderBy: { id: 'asc' } });
  }

  /** The customer's active coupon of this code, if one is applied. */
  async findActive(customerId: string, couponCode: string, tx: DbTx): Promise<AppliedCoupon | null> {
    return tx.appliedCoupon.findFirst({ where: { customerId, couponCode, status: 'active' } });
  }

  async find(scope: Scope, id: string): Promise<AppliedCoupon | null> {
    return this.db.appliedCoupon.findFirst({ where: { id, merchantId: scope.merchantId, environment: scope.environment } });
  }

  async list<Out>(scope: Scope, query: ListAppliedCouponsQuery, serialize: (row: AppliedCoupon) => Out): Promise<Page<Out>> {
    const where: Prisma.AppliedCouponWhereInput = {
      merchantId: scope.merchantId,
      environment: scope.environment,
      ...(query.customer_id !== undefined && { customerId: query.customer_id }),
      ...(query.status !== undefined && { status: query.status }),
    };
    return paginate(this.db.appliedCoupon, where, query, serialize);
  }
}
