import { asActivity } from './failures.js';

export interface SequenceActivityDeps {
  sequences: { stopForCustomer(customerId: string): Promise<void> };
}

export const createSequenceActivities = ({ sequences }: SequenceActivityDeps) => ({
  /** Deletion saga: a deleted customer receives nothing more from any sequence. */
  async stopCustomerSequences(customerId: string): Promise<void> {
    await asActivity(() => sequences.stopForCustomer(customerId));
  },
});
