import type { DeletionService } from '../src/deletions/deletion.service.js';
import type { ErasureService } from '../src/deletions/erasure.service.js';
import { asActivity } from './failures.js';

export interface DeletionActivityDeps {
  deletions: Pick<DeletionService, 'markDeleted' | 'complete' | 'markActionRequired' | 'markResumed'>;
  erasure: Pick<ErasureService, 'erase'>;
}

/** The steps of the customer-deletion saga owned by the deletion itself. */
export const createDeletionActivities = ({ deletions, erasure }: DeletionActivityDeps) => ({
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
});
