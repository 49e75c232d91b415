import {
  SEARCH_ATTRIBUTES,
  WORKFLOW_TYPES,
  deletionProgressQuery,
  deletionRetrySignal,
  workflowIds,
  type CustomerDeletionInput,
  type DeletionProgress,
} from '../../workflows/definitions.js';
import type { CustomerStore } from '../customers/customer.store.js';
import type { Db } from '../db.js';
import type { CustomerDeletion } from '../generated/prisma/client.js';
import { ConflictError, NotFoundError } from '../lib/errors.js';
import type { Scope, WriteContext } from '../lib/scope.js';
import type { Logger } from '../logger.js';
import type { TemporalGateway } from '../temporal/gateway.js';
import type { TemporalUi } from '../temporal/links.js';
import type { DeletionObject } from './deletion.schemas.js';
import { serializeDeletion } from './deletion.serializer.js';
import type { DeletionStore } from './deletion.store.js';

/** The progress query gives up sooner than other calls: GET answers from the database without it. */
const PROGRESS_QUERY_TIMEOUT_MS = 2_000;

export interface DeletionServiceDeps {
  db: Db;
  customers: CustomerStore;
  deletions: DeletionStore;
  temporal: TemporalGateway;
  ui: TemporalUi;
  logger: Logger;
}

/**
 * Customer deletion: the request marks the customer `deleting` and records the deletion in one
 * transaction, then hands over to the `customer-deletion:<id>` workflow; asking again (even at
 * the same moment) returns the same deletion and run. If Temporal cannot take the run, the
 * deletion stays recorded and the reconciler starts it once Temporal answers again. The saga's
 * own steps (marking the customer deleted, the deletion's status) are deletion.steps.ts.
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
   * Housekeeping: deletions recorded as running whose workflow is missing (Temporal was down at
   * DELETE, the API died before starting it) or closed without finishing are started again; one
   * an operator terminated is marked failed; one whose run completed is completed (runs started
   * before the billing saga end without completing their row). Returns how many were restarted.
   */
  async reconcile(stuckAfterMs: number): Promise<number> {
    const stuck = await this.deps.deletions.stuck(stuckAfterMs);
    let restarted = 0;
    for (const deletion of stuck) {
      try {
        const status = await this.deps.temporal.status(deletion.workflowId, { deadline: false });
        if (status === 'COMPLETED') {
          await this.deps.deletions.complete(deletion.customerId);
        } else if (status === 'RUNNING' || status === 'CONTINUED_AS_NEW') {
          await this.deps.deletions.touch(deletion.id);
        } else if (status === 'TERMINATED' || status === 'CANCELLED') {
          await this.deps.deletions.fail(deletion.id, `the workflow run was ${status.toLowerCase()} in Temporal`);
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
    const deletion = await this.deps.deletions.find(scope, customerId);
    if (!deletion) throw new NotFoundError('deletion for customer', customerId, 'id');
    return deletion;
  }

  /**
   * The customer's row lock serializes concurrent DELETEs: the second finds the first one's
   * deletion once the first commits, and answers with it.
   */
  private async begin(scope: Scope, customerId: string): Promise<CustomerDeletion> {
    const { customers, deletions } = this.deps;
    return this.deps.db.$transaction(async (tx) => {
      const customer = await customers.lockWithDeletion(tx, scope, customerId);
      if (!customer || (customer.deletedAt && !customer.deletion)) throw new NotFoundError('customer', customerId, 'id');
      if (customer.deletion) return customer.deletion;
      await customers.markDeleting(tx, customerId);
      return deletions.create(tx, customerId, workflowIds.customerDeletion(customerId));
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
    return this.deps.deletions.setRun(deletion.id, runId);
  }
}
