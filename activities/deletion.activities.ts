import type { CustomerStore } from '../src/customers/customer.store.js';
import type { Db } from '../src/db.js';
import { DeletionSteps } from '../src/deletions/deletion.steps.js';
import type { DeletionStore } from '../src/deletions/deletion.store.js';
import type { PersonalDataStore } from '../src/deletions/erasure.service.js';
import { ErasureSteps } from '../src/deletions/erasure.steps.js';
import type { TemporalUi } from '../src/temporal/links.js';
import { asActivity } from './failures.js';

export interface DeletionActivityDeps {
  db: Db;
  stores: { customers: CustomerStore; deletions: DeletionStore };
  ui: TemporalUi;
  /** Every store of a customer's personal data: the erasure clears each. */
  personalData: PersonalDataStore[];
}

/** The steps of the customer-deletion saga owned by the deletion itself. */
export const createDeletionActivities = ({ db, stores, ui, personalData }: DeletionActivityDeps) => {
  const deletions = new DeletionSteps({ db, customers: stores.customers, deletions: stores.deletions, ui });
  const erasure = new ErasureSteps({ db, customers: stores.customers, stores: personalData });
  return {
    async markCustomerDeleted(customerId: string): Promise<void> {
      await asActivity(() => deletions.markDeleted(customerId));
    },
    async erasePersonalData(customerId: string): Promise<string> {
      return asActivity(() => erasure.erase(customerId));
    },
    async completeCustomerDeletion(customerId: string): Promise<void> {
      await asActivity(() => deletions.complete(customerId));
    },
    async recordDeletionActionRequired(customerId: string, step: string, reason: string): Promise<void> {
      await asActivity(() => deletions.markActionRequired(customerId, step, reason));
    },
    async recordDeletionResumed(customerId: string): Promise<void> {
      await asActivity(() => deletions.markResumed(customerId));
    },
  };
};
