import type { DeletionService } from '../src/deletions/deletion.service.js';
import { asActivity } from './failures.js';

export interface DeletionActivityDeps {
  deletions: Pick<DeletionService, 'complete' | 'markActionRequired' | 'markResumed'>;
}

/** The steps of the customer-deletion saga owned by the deletion itself. */
export const createDeletionActivities = ({ deletions }: DeletionActivityDeps) => ({
  async markCustomerDeleted(customerId: string): Promise<void> {
    await asActivity(() => deletions.complete(customerId));
  },
  async recordDeletionActionRequired(customerId: string, step: string, reason: string): Promise<void> {
    await asActivity(() => deletions.markActionRequired(customerId, step, reason));
  },
  async recordDeletionResumed(customerId: string): Promise<void> {
    await asActivity(() => deletions.markResumed(customerId));
  },
});
