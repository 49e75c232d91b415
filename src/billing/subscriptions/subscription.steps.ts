import type { Db } from '../../db.js';
import { summarize } from '../../lib/summary.js';
import { inBatches, type SagaStepOptions } from '../billing.saga.js';
import type { SubscriptionLedger } from './subscription.ledger.js';
import type { SubscriptionStore } from './subscription.store.js';

export interface SubscriptionStepsDeps {
  db: Db;
  store: SubscriptionStore;
  ledger: SubscriptionLedger;
  batchSize: number;
}

/** The subscriptions' step of the customer-deletion saga. */
export class SubscriptionSteps {
  constructor(private readonly deps: SubscriptionStepsDeps) {}

  /**
   * Deletion saga, step 1: every active subscription of the customer is terminated and settled,
   * every pending one canceled. Closing invoices stay drafts: step 3 finalizes them with the
   * other drafts, applying wallet credits before step 4 voids what is left.
   */
  async terminateForCustomer(customerId: string, options?: SagaStepOptions): Promise<string> {
    const { store, ledger } = this.deps;
    const totals = { terminated: 0, canceled: 0, closingInvoices: 0, creditNotes: 0 };
    await inBatches(
      this.deps.db,
      this.deps.batchSize,
      async (tx, limit) => {
        const ids = await store.lockOpenOfCustomer(customerId, limit, tx);
        const subscriptions = await store.byIds(ids, tx);
        const done = await ledger.terminate(tx, subscriptions, new Date(), { finalizeClosingInvoices: false });
        totals.terminated += done.terminated;
        totals.canceled += done.canceled;
        totals.closingInvoices += done.closingInvoices;
        totals.creditNotes += done.creditNotes;
        return ids.length;
      },
      options,
    );
    return summarize([
      [totals.terminated, 'subscriptions terminated'],
      [totals.canceled, 'canceled'],
      [totals.closingInvoices, 'closing invoices'],
      [totals.creditNotes, 'credit notes'],
    ]);
  }
}
