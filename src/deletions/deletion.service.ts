import {
  SEARCH_ATTRIBUTES,
  WORKFLOW_TYPES,
  deletionProgressQuery,
  deletionRetrySignal,
  workflowIds,
  type CustomerDeletionInput,
  type DeletionProgress,
} from '../../workflows/definitions.js';
import { serializeCustomer } from '../customers/customer.serializer.js';
import type { Db } from '../db.js';
import { recordEvents } from '../events/outbox.js';
import type { CustomerDeletion } from '../generated/prisma/client.js';
import { ConflictError, NotFoundError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import type { Scope, WriteContext } from '../lib/scope.js';
import type { Logger } from '../logger.js';
import type { TemporalGateway } from '../temporal/gateway.js';
import type { TemporalUi } from '../temporal/links.js';
import type { DeletionObject } from './deletion.schemas.js';
import { serializeDeletion } from './deletion.serializer.js';

/** The progress query gives up sooner than other calls: GET answers from the database without it. */
const PROGRESS_QUERY_TIMEOUT_MS = 2_000;

export interface DeletionServiceDeps {
  db: Db;
  temporal: TemporalGateway;
  ui: TemporalUi;
  logger: Logger;
}

/**
 * Customer deletion: the request marks the customer `deleting` and records the deletion in one
 * transaction, then hands over to the `customer-deletion:<id>` workflow; asking again (even at
 * the same moment) returns the same deletion and run. If Temporal cannot take the run, the
 * deletion stays recorded and the reconciler starts it once Temporal answers again.
 */
export class DeletionService {
  constructor(private readonly deps: DeletionServiceDeps) {}

  async request(write: WriteContext, customerId: string): Promise<DeletionObject> {
    const deletion = await this.begin(write, customerId);
    return this.serialize(deletion.status === 'running' ? await this.ensureRunning(deletion, write.merchantId) : deletion);
  }

  async get(scope: Scope, customerId: string): Promise<DeletionObject> {
    const deletion = await this.findDeletion(scope, customerId);
    let progress: DeletionProgress | undefined;
    try {
      // A query needs a worker to answer; without one the API still answers, from the database.
      progress = await this.deps.temporal.query(deletion.workflowId, deletionProgressQuery, PROGRESS_QUERY_TIMEOUT_MS);
    } catch (error) {
      this.deps.logger.debug({ err: error, customerId }, 'deletion progress not available from Temporal');
    }
    return this.serialize(deletion, progress);
  }

  /** Resumes a deletion waiting for action from the step that failed. */
  async retry(scope: Scope, customerId: string): Promise<DeletionObject> {
    const deletion = await this.findDeletion(scope, customerId);
    if (deletion.status !== 'action_required') {
      throw new ConflictError(`The deletion of ${customerId} is ${deletion.status}, not waiting for action`, 'id', {
        customer_id: customerId,
      });
    }
    await this.deps.temporal.signal(deletion.workflowId, deletionRetrySignal, []);
    return this.serialize(deletion);
  }

  /**
   * Activity (saga step mark_deleted): the customer is gone, its external_id and email are free
   * again, and `customer.deleted` is recorded with the change. Safe to repeat.
   */
  async markDeleted(customerId: string): Promise<void> {
    await this.deps.db.$transaction(async (tx) => {
      const customer = await tx.customer.findUniqueOrThrow({ where: { id: customerId } });
      if (customer.status === 'deleted') return;
      const deleted = await tx.customer.update({
        where: { id: customerId },
        data: { status: 'deleted', deletedAt: new Date() },
      });
      const scope = { merchantId: deleted.merchantId, environment: deleted.environment };
      await recordEvents(tx, scope, [
        { type: 'customer.deleted', object: { ...serializeCustomer(deleted), deleted: true }, customerId },
      ]);
    });
  }

  /** Activity: every step is done; the deletion is `completed`. Safe to repeat. */
  async complete(customerId: string): Promise<void> {
    await this.deps.db.customerDeletion.updateMany({
      where: { customerId, status: { not: 'completed' } },
      data: { status: 'completed', completedAt: new Date(), currentStep: null, failureReason: null },
    });
  }

  /**
   * Activity: a step needs a person; the API and the merchant see why. Entering `action_required`
   * records `customer.deletion_action_required` (the merchant is emailed, webhooks receive it);
   * a repeat of the activity finds the deletion waiting already and records nothing more.
   */
  async markActionRequired(customerId: string, step: string, reason: string): Promise<void> {
    await this.deps.db.$transaction(async (tx) => {
      const [entered] = await tx.$queryRaw<{ id: string }[]>`
        UPDATE customer_deletions SET status = 'action_required', current_step = ${step}, failure_reason = ${reason}, updated_at = now()
        WHERE customer_id = ${customerId} AND status <> 'action_required'
        RETURNING id`;
      if (!entered) {
        await tx.customerDeletion.update({ where: { customerId }, data: { currentStep: step, failureReason: reason } });
        return;
      }
      const deletion = await tx.customerDeletion.findUniqueOrThrow({ where: { customerId }, include: { customer: true } });
      const scope = { merchantId: deletion.customer.merchantId, environment: deletion.customer.environment };
      await recordEvents(tx, scope, [
        { type: 'customer.deletion_action_required', object: this.serialize(deletion), customerId, extra: { step, reason } },
      ]);
    });
  }

  /** Activity: a retry was asked for; the deletion runs again from the failed step. */
  async markResumed(customerId: string): Promise<void> {
    await this.deps.db.customerDeletion.updateMany({
      where: { customerId, status: 'action_required' },
      data: { status: 'running', failureReason: null },
    });
  }

  /**
   * Housekeeping: deletions recorded as running whose workflow is missing (Temporal was down at
   * DELETE, the API died before starting it) or closed without finishing are started again; one
   * an operator terminated is marked failed; one whose run completed is completed (runs started
   * before the billing saga end without completing their row). Returns how many were restarted.
   */
  async reconcile(stuckAfterMs: number): Promise<number> {
    const stuck = await this.deps.db.customerDeletion.findMany({
      where: { status: 'running', updatedAt: { lt: new Date(Date.now() - stuckAfterMs) } },
      include: { customer: { select: { merchantId: true } } },
      orderBy: { updatedAt: 'asc' },
      take: 100,
    });
    let restarted = 0;
    for (const deletion of stuck) {
      try {
        const status = await this.deps.temporal.status(deletion.workflowId, { deadline: false });
        if (status === 'COMPLETED') {
          await this.complete(deletion.customerId);
        } else if (status === 'RUNNING' || status === 'CONTINUED_AS_NEW') {
          await this.deps.db.customerDeletion.update({ where: { id: deletion.id }, data: { updatedAt: new Date() } });
        } else if (status === 'TERMINATED' || status === 'CANCELLED') {
          await this.deps.db.customerDeletion.update({
            where: { id: deletion.id },
            data: { status: 'failed', failureReason: `the workflow run was ${status.toLowerCase()} in Temporal`, completedAt: new Date() },
          });
        } else {
          await this.ensureRunning(deletion, deletion.customer.merchantId, { touch: true });
          restarted += 1;
        }
      } catch (error) {
        this.deps.logger.warn({ err: error, customerId: deletion.customerId }, 'could not reconcile a deletion');
      }
    }
    return restarted;
  }

  private serialize(deletion: CustomerDeletion, progress?: DeletionProgress): DeletionObject {
    return serializeDeletion(deletion, this.deps.ui, progress);
  }

  private async findDeletion(scope: Scope, customerId: string): Promise<CustomerDeletion> {
    const deletion = await this.deps.db.customerDeletion.findFirst({
      where: { customerId, customer: { merchantId: scope.merchantId, environment: scope.environment } },
    });
    if (!deletion) throw new NotFoundError('deletion for customer', customerId, 'id');
    return deletion;
  }

  /**
   * The customer's row lock serializes concurrent DELETEs: the second finds the first one's
   * deletion once the first commits, and answers with it.
   */
  private async begin(scope: Scope, customerId: string): Promise<CustomerDeletion> {
    return this.deps.db.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT 1 FROM customers WHERE id = ${customerId} FOR UPDATE`;
      const customer = await tx.customer.findFirst({
        where: { id: customerId, merchantId: scope.merchantId, environment: scope.environment },
        include: { deletion: true },
      });
      if (!customer || (customer.deletedAt && !customer.deletion)) throw new NotFoundError('customer', customerId, 'id');
      if (customer.deletion) return customer.deletion;
      await tx.customer.update({ where: { id: customerId }, data: { status: 'deleting' } });
      return tx.customerDeletion.create({
        data: { id: newId('deletion'), customerId, workflowId: workflowIds.customerDeletion(customerId) },
      });
    });
  }

  /**
   * Starts the workflow unless it already runs. A Temporal that does not answer leaves the
   * deletion recorded with no run yet; the reconciler starts it later.
   */
  private async ensureRunning(deletion: CustomerDeletion, merchantId: string, options: { touch?: boolean } = {}): Promise<CustomerDeletion> {
    const input: CustomerDeletionInput = { customerId: deletion.customerId };
    let runId: string;
    try {
      runId = await this.deps.temporal.start(WORKFLOW_TYPES.customerDeletion, {
        workflowId: deletion.workflowId,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
        // A run that failed or timed out may be started again; a completed one may not.
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
        typedSearchAttributes: [
          { key: SEARCH_ATTRIBUTES.customerId, value: deletion.customerId },
          { key: SEARCH_ATTRIBUTES.merchantId, value: merchantId },
          { key: SEARCH_ATTRIBUTES.deletionStatus, value: 'running' },
        ],
      });
    } catch (error) {
      if (options.touch) throw error;
      this.deps.logger.warn({ err: error, customerId: deletion.customerId }, 'Temporal did not take the deletion; the reconciler will start it');
      return deletion;
    }
    if (deletion.runId === runId && !options.touch) return deletion;
    return this.deps.db.customerDeletion.update({ where: { id: deletion.id }, data: { runId } });
  }
}
