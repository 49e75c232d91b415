import type { Db } from '../../db.js';
import { summarize } from '../../lib/summary.js';
import { inBatches, type SagaStepOptions } from '../billing.saga.js';
import type { CouponLedger } from './coupon.ledger.js';
import type { CouponStore } from './coupon.store.js';

export interface CouponStepsDeps {
  db: Db;
  store: CouponStore;
  ledger: CouponLedger;
  batchSize: number;
}

/** The coupons' step of the customer-deletion saga. */
export class CouponSteps {
  constructor(private readonly deps: CouponStepsDeps) {}

  /** Deletion saga, step 2: every active coupon of the customer is terminated. */
  async terminateForCustomer(customerId: string, options?: SagaStepOptions): Promise<string> {
    const { store, ledger } = this.deps;
    const terminated = await inBatches(
      this.deps.db,
      this.deps.batchSize,
      async (tx, limit) => {
        const ids = await store.lockActiveOfCustomer(customerId, limit, tx);
        const coupons = await store.byIds(ids, tx);
        await ledger.terminate(tx, coupons, new Date());
        return ids.length;
      },
      options,
    );
    return summarize([[terminated, 'coupons terminated']]);
  }
}
