import type { Db, DbTx } from '../db.js';
import type { Customer, CustomerDeletion } from '../generated/prisma/client.js';
import { newId } from '../lib/ids.js';
import type { Scope } from '../lib/scope.js';

/** The customer_deletions table's store, and its only writer: one row per customer deletion. */
export class DeletionStore {
  constructor(private readonly db: Db) {}

  /** The deletion of the tenant's customer, if one was requested. */
  async find(scope: Scope, customerId: string): Promise<CustomerDeletion | null> {
    return this.db.customerDeletion.findFirst({
      where: { customerId, customer: { merchantId: scope.merchantId, environment: scope.environment } },
    });
  }

  /** Records a new deletion, running under the workflow `workflowId`. */
  async create(tx: DbTx, customerId: string, workflowId: string): Promise<CustomerDeletion> {
    return tx.customerDeletion.create({ data: { id: newId('deletion'), customerId, workflowId } });
  }

  /** The deletion is `completed`; a completed one stays as it is. */
  async complete(customerId: string): Promise<void> {
    await this.db.customerDeletion.updateMany({
      where: { customerId, status: { not: 'completed' } },
      data: { status: 'completed', completedAt: new Date(), currentStep: null, failureReason: null },
    });
  }

  /**
   * Enters `action_required` at `step` for `reason`. False when the deletion was waiting already:
   * then nothing changed (see `noteFailure`).
   */
  async enterActionRequired(tx: DbTx, customerId: string, step: string, reason: string): Promise<boolean> {
    const [entered] = await tx.$queryRaw<{ id: string }[]>`
      UPDATE customer_deletions SET status = 'action_required', current_step = ${step}, failure_reason = ${reason}, updated_at = now()
      WHERE customer_id = ${customerId} AND status <> 'action_required'
      RETURNING id`;
    return entered !== undefined;
  }

  /** The step and reason a deletion waiting for action shows. */
  async noteFailure(tx: DbTx, customerId: string, step: string, reason: string): Promise<void> {
    await tx.customerDeletion.update({ where: { customerId }, data: { currentStep: step, failureReason: reason } });
  }

  /** The customer's deletion with its customer; throws when there is none. */
  async withCustomer(tx: DbTx, customerId: string): Promise<CustomerDeletion & { customer: Customer }> {
    return tx.customerDeletion.findUniqueOrThrow({ where: { customerId }, include: { customer: true } });
  }

  /** A deletion waiting for action runs again. */
  async resume(customerId: string): Promise<void> {
    await this.db.customerDeletion.updateMany({
      where: { customerId, status: 'action_required' },
      data: { status: 'running', failureReason: null },
    });
  }

  /** Up to 100 deletions running but unchanged for `stuckAfterMs`, longest unchanged first, with their merchant. */
  async stuck(stuckAfterMs: number): Promise<(CustomerDeletion & { customer: { merchantId: string } })[]> {
    return this.db.customerDeletion.findMany({
      where: { status: 'running', updatedAt: { lt: new Date(Date.now() - stuckAfterMs) } },
      include: { customer: { select: { merchantId: true } } },
      orderBy: { updatedAt: 'asc' },
      take: 100,
    });
  }

  /** A deletion seen running in Temporal: not stuck. */
  async touch(id: string): Promise<void> {
    await this.db.customerDeletion.update({ where: { id }, data: { updatedAt: new Date() } });
  }

  /** The deletion `failed` for `reason`. */
  async fail(id: string, reason: string): Promise<void> {
    await this.db.customerDeletion.update({ where: { id }, data: { status: 'failed', failureReason: reason, completedAt: new Date() } });
  }

  /** The run the deletion's workflow runs as now. */
  async setRun(id: string, runId: string): Promise<CustomerDeletion> {
    return this.db.customerDeletion.update({ where: { id }, data: { runId } });
  }
}
