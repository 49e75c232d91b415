import type { CustomerStore } from '../customers/customer.store.js';
import { serializeCustomer } from '../customers/customer.serializer.js';
import type { Db } from '../db.js';
import { recordEvents } from '../events/outbox.js';
import type { TemporalUi } from '../temporal/links.js';
import { serializeDeletion } from './deletion.serializer.js';
import type { DeletionStore } from './deletion.store.js';

export interface DeletionStepsDeps {
  db: Db;
  customers: CustomerStore;
  deletions: DeletionStore;
  ui: TemporalUi;
}

/**
 * The customer-deletion saga's steps that belong to the deletion itself (activities/deletion.activities.ts
 * runs them): marking the customer deleted, and the deletion's own status. Each is safe to repeat.
 */
export class DeletionSteps {
  constructor(private readonly deps: DeletionStepsDeps) {}

  /**
   * Saga step mark_deleted: the customer is gone, its external_id and email are free again, and
   * `customer.deleted` is recorded with the change. Safe to repeat.
   */
  async markDeleted(customerId: string): Promise<void> {
    const { customers } = this.deps;
    await this.deps.db.$transaction(async (tx) => {
      const customer = await customers.byId(tx, customerId);
      if (customer.status === 'deleted') return;
      const deleted = await customers.markDeleted(tx, customerId);
      const scope = { merchantId: deleted.merchantId, environment: deleted.environment };
      await recordEvents(tx, scope, [
        { type: 'customer.deleted', object: { ...serializeCustomer(deleted), deleted: true }, customerId },
      ]);
    });
  }

  /** Every step is done; the deletion is `completed`. Safe to repeat. */
  async complete(customerId: string): Promise<void> {
    await this.deps.deletions.complete(customerId);
  }

  /**
   * A step needs a person; the API and the merchant see why. Entering `action_required` records
   * `customer.deletion_action_required` (the merchant is emailed, webhooks receive it); a repeat
   * of the activity finds the deletion waiting already and records nothing more.
   */
  async markActionRequired(customerId: string, step: string, reason: string): Promise<void> {
    const { deletions } = this.deps;
    await this.deps.db.$transaction(async (tx) => {
      if (!(await deletions.enterActionRequired(tx, customerId, step, reason))) {
        await deletions.noteFailure(tx, customerId, step, reason);
        return;
      }
      const deletion = await deletions.withCustomer(tx, customerId);
      const scope = { merchantId: deletion.customer.merchantId, environment: deletion.customer.environment };
      await recordEvents(tx, scope, [
        {
          type: 'customer.deletion_action_required',
          object: serializeDeletion(deletion, this.deps.ui),
          customerId,
          extra: { step, reason },
        },
      ]);
    });
  }

  /** A retry was asked for; the deletion runs again from the failed step. */
  async markResumed(customerId: string): Promise<void> {
    await this.deps.deletions.resume(customerId);
  }
}
