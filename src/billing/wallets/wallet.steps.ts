import type { Db } from '../../db.js';
import { summarize } from '../../lib/summary.js';
import { inBatches, type SagaStepOptions } from '../billing.saga.js';
import type { WalletLedger } from './wallet.ledger.js';
import type { WalletStore } from './wallet.store.js';

export interface WalletStepsDeps {
  db: Db;
  store: WalletStore;
  ledger: WalletLedger;
  batchSize: number;
}

/** The wallets' step of the customer-deletion saga. */
export class WalletSteps {
  constructor(private readonly deps: WalletStepsDeps) {}

  /**
   * Deletion saga, step 4: every active wallet of the customer is terminated and its remaining
   * credits voided with a recorded `voided` transaction, after step 3 let drafts consume them.
   */
  async terminateForCustomer(customerId: string, options?: SagaStepOptions): Promise<string> {
    const { store, ledger } = this.deps;
    let voided = 0;
    const terminated = await inBatches(
      this.deps.db,
      this.deps.batchSize,
      async (tx, limit) => {
        const ids = await store.lockActiveOfCustomer(customerId, limit, tx);
        const wallets = await store.byIds(ids, tx);
        voided += (await ledger.terminate(tx, wallets, new Date())).voided;
        return ids.length;
      },
      options,
    );
    return summarize([
      [terminated, 'wallets terminated'],
      [voided, 'with remaining credits voided'],
    ]);
  }
}
