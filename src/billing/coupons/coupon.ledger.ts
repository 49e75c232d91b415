import type { DbTx } from '../../db.js';
import { recordEvents } from '../../events/outbox.js';
import type { AppliedCoupon } from '../../generated/prisma/client.js';
import type { Scope } from '../../lib/scope.js';
import { serializeAppliedCoupon } from './coupon.serializer.js';
import type { CouponStore } from './coupon.store.js';

/** More active coupons than this on one customer is not a real case; the oldest apply. */
const MAX_ACTIVE_COUPONS = 100;

/**
 * What coupons do in the caller's transaction, for the coupons API, new invoices and the deletion
 * saga: discount new subscription invoices, and end. The store writes them.
 */
export class CouponLedger {
  constructor(private readonly store: CouponStore) {}

  /**
   * The discounts of a customer's active coupons on new subscription invoices, in order: coupons
   * apply oldest first, each on what the previous ones left (a percentage too), never below zero.
   * A fixed `once` coupon is used up across invoices; a `once` percentage applies to one invoice;
   * a used-up coupon is terminated (`applied_coupon.terminated`). Runs in the transaction creating
   * the invoices, with the coupons locked, so a discount is given exactly once.
   */
  async discountInvoices(
    tx: DbTx,
    scope: Scope,
    customerId: string,
    invoices: { currency: string; subtotal: bigint }[],
    now: Date,
  ): Promise<bigint[]> {
    const ids = await this.store.lockActiveOfCustomer(customerId, MAX_ACTIVE_COUPONS, tx);
    if (ids.length === 0) return invoices.map(() => 0n);
    const coupons = await this.store.byIds(ids, tx);
    const state = new Map(coupons.map((coupon) => [coupon.id, { remaining: coupon.amountRemaining, active: true, used: false }]));

    const discounts = invoices.map(({ currency, subtotal }) => {
      let due = subtotal > 0n ? subtotal : 0n;
      let discount = 0n;
      for (const coupon of coupons) {
        const current = state.get(coupon.id)!;
        if (due === 0n || !current.active) continue;
        let off: bigint;
        if (coupon.amountOff !== null) {
          if (coupon.currency !== currency) continue;
          off = min(due, coupon.frequency === 'once' ? current.remaining! : coupon.amountOff);
          if (coupon.frequency === 'once') {
            current.remaining = current.remaining! - off;
            current.active = current.remaining > 0n;
          }
        } else {
          off = (due * BigInt(coupon.percentOff!)) / 100n;
          if (coupon.frequency === 'once') current.active = false;
        }
        current.used = true;
        due -= off;
        discount += off;
      }
      return discount;
    });

    const changed = coupons.filter((coupon) => state.get(coupon.id)!.used && coupon.frequency === 'once');
    const terminated: AppliedCoupon[] = [];
    for (const coupon of changed) {
      const use = state.get(coupon.id)!;
      const updated = await this.store.recordUse(coupon.id, use, now, tx);
      if (!use.active) terminated.push(updated);
    }
    await recordEvents(
      tx,
      scope,
      terminated.map((coupon) => ({ type: 'applied_coupon.terminated', object: serializeAppliedCoupon(coupon), customerId })),
    );
    return discounts;
  }

  /** Terminates locked active coupons of one customer, with their events; returns them terminated. */
  async terminate(tx: DbTx, coupons: AppliedCoupon[], now: Date): Promise<AppliedCoupon[]> {
    const active = coupons.filter((coupon) => coupon.status === 'active');
    if (active.length === 0) return [];
    await this.store.terminate(active.map((coupon) => coupon.id), now, tx);
    const terminated = active.map((coupon): AppliedCoupon => ({ ...coupon, status: 'terminated', terminatedAt: now, updatedAt: now }));
    await recordEvents(
      tx,
      terminated[0]!,
      terminated.map((coupon) => ({ type: 'applied_coupon.terminated', object: serializeAppliedCoupon(coupon), customerId: coupon.customerId })),
    );
    return terminated;
  }
}

const min = (a: bigint, b: bigint) => (a < b ? a : b);
