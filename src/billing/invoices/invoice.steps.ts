import type { Db } from '../../db.js';
import { summarize } from '../../lib/summary.js';
import { inBatches, type SagaStepOptions } from '../billing.saga.js';
import { negativeDrafts, type InvoiceLedger } from './invoice.ledger.js';
import type { InvoiceStore } from './invoice.store.js';

export interface InvoiceStepsDeps {
  db: Db;
  store: InvoiceStore;
  ledger: InvoiceLedger;
  batchSize: number;
}

/** The invoices' step of the customer-deletion saga. */
export class InvoiceSteps {
  constructor(private readonly deps: InvoiceStepsDeps) {}

  /**
   * Deletion saga, step 3: every draft of the customer is finalized now, wallet credits applied,
   * before step 4 voids what the wallet still holds. A draft that cannot be finalized stops the
   * step before anything changes, naming every such draft, for a person to fix.
   */
  async finalizeDraftsForCustomer(customerId: string, options?: SagaStepOptions): Promise<string> {
    const { store, ledger } = this.deps;
    const drafts = await store.draftsOfCustomer(customerId);
    const refused = negativeDrafts(drafts);
    if (refused) throw refused;
    let withCredits = 0;
    const finalized = await inBatches(
      this.deps.db,
      this.deps.batchSize,
      async (tx, limit) => {
        const ids = await store.lockDraftsOfCustomer(customerId, limit, tx);
        if (ids.length === 0) return 0;
        const locked = await store.withLinesByIds(ids, tx);
        const done = await ledger.finalize(tx, locked[0]!, locked, new Date());
        withCredits += done.filter((invoice) => invoice.creditsApplied > 0n).length;
        return ids.length;
      },
      options,
    );
    return summarize([
      [finalized, 'drafts finalized'],
      [withCredits, 'with wallet credits applied'],
    ]);
  }
}
