import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { SEARCH_ATTRIBUTES, deletionProgressQuery, workflowIds, type DeletionProgress } from '../../workflows/definitions';
import type { customerDeletionWorkflow } from '../../workflows';
import { isUniqueViolation, type Db } from '../db';
import { EventDispatcher, recordEvent } from '../events/event.service';
import type { CustomerDeletion } from '../generated/prisma/client';
import { ConflictError, NotFoundError } from '../lib/errors';
import { newId } from '../lib/ids';
import type { Scope } from '../lib/scope';
import type { Logger } from '../logger';
import { serializeCustomer } from '../customers/customer.serializer';

const PROGRESS_QUERY_TIMEOUT_MS = 2_000;

export const DeletionObject = z
  .object({
    id: z.string(),
    object: z.literal('customer_deletion'),
    customer_id: z.string(),
    status: z.enum(['running', 'completed', 'failed']),
    workflow_id: z.string(),
    run_id: z.string().nullable(),
    failure_reason: z.string().nullable(),
    created: z.iso.datetime(),
    completed: z.iso.datetime().nullable(),
    status_url: z.string(),
    steps: z
      .array(z.object({ name: z.string(), state: z.string(), detail: z.string().optional() }))
      .optional()
      .meta({ description: 'Live progress reported by the workflow, while it can be queried.' }),
  })
  .meta({ id: 'CustomerDeletion' });
export type DeletionObject = z.infer<typeof DeletionObject>;

function serializeDeletion(deletion: CustomerDeletion, progress?: DeletionProgress): DeletionObject {
  return {
    id: deletion.id,
    object: 'customer_deletion',
    customer_id: deletion.customerId,
    status: deletion.status,
    workflow_id: deletion.workflowId,
    run_id: deletion.runId,
    failure_reason: deletion.failureReason,
    created: deletion.createdAt.toISOString(),
    completed: deletion.completedAt?.toISOString() ?? null,
    status_url: `/v1/customers/${deletion.customerId}/deletion`,
    ...(progress ? { steps: progress.steps } : {}),
  };
}

export interface DeletionServiceDeps {
  db: Db;
  temporal: Client;
  taskQueue: string;
  events: EventDispatcher;
  logger: Logger;
}

/**
 * Customer deletion: the request marks the customer `deleting` and hands over to the
 * `customer-deletion:<id>` workflow; asking again returns the same run.
 */
export class DeletionService {
  constructor(private readonly deps: DeletionServiceDeps) {}

  async request(scope: Scope, customerId: string): Promise<DeletionObject> {
    const deletion = (await this.findDeletion(scope, customerId)) ?? (await this.begin(scope, customerId));
    return serializeDeletion(deletion.status === 'running' ? await this.ensureRunning(scope, deletion) : deletion);
  }

  async get(scope: Scope, customerId: string): Promise<DeletionObject> {
    const deletion = await this.findDeletion(scope, customerId);
    if (!deletion) throw new NotFoundError('deletion for customer', customerId, 'id');
    let progress: DeletionProgress | undefined;
    try {
      // A query needs a worker to answer; without one the API still answers, from the database.
      progress = await this.deps.temporal.connection.withDeadline(Date.now() + PROGRESS_QUERY_TIMEOUT_MS, () =>
        this.deps.temporal.workflow.getHandle(deletion.workflowId).query(deletionProgressQuery),
      );
    } catch (error) {
      this.deps.logger.debug({ err: error, customerId }, 'deletion progress not available from Temporal');
    }
    return serializeDeletion(deletion, progress);
  }

  /** Activity: the customer is gone; its external_id and email are free again. Safe to repeat. */
  async complete(customerId: string): Promise<void> {
    const eventIds: string[] = [];
    await this.deps.db.$transaction(async (tx) => {
      const customer = await tx.customer.findUniqueOrThrow({ where: { id: customerId } });
      if (customer.status === 'deleted') return;
      const deleted = await tx.customer.update({
        where: { id: customerId },
        data: { status: 'deleted', deletedAt: new Date() },
      });
      const scope = { merchantId: deleted.merchantId, environment: deleted.environment };
      eventIds.push(await recordEvent(tx, scope, 'customer.deleted', { ...serializeCustomer(deleted), deleted: true }));
      await tx.customerDeletion.update({
        where: { customerId },
        data: { status: 'completed', completedAt: new Date(), failureReason: null },
      });
    });
    this.deps.events.dispatchInBackground(eventIds);
  }

  /** Activity: records why a deletion stopped, so the API shows it instead of a silent stall. */
  async fail(customerId: string, reason: string): Promise<void> {
    await this.deps.db.customerDeletion.update({
      where: { customerId },
      data: { status: 'failed', failureReason: reason, completedAt: new Date() },
    });
  }

  private findDeletion(scope: Scope, customerId: string): Promise<CustomerDeletion | null> {
    return this.deps.db.customerDeletion.findFirst({
      where: { customerId, customer: { merchantId: scope.merchantId, environment: scope.environment } },
    });
  }

  private async begin(scope: Scope, customerId: string): Promise<CustomerDeletion> {
    try {
      return await this.deps.db.$transaction(async (tx) => {
        await tx.$executeRaw`SELECT 1 FROM customers WHERE id = ${customerId} FOR UPDATE`;
        const customer = await tx.customer.findFirst({
          where: { id: customerId, merchantId: scope.merchantId, environment: scope.environment, deletedAt: null },
        });
        if (!customer) throw new NotFoundError('customer', customerId, 'id');
        if (customer.status !== 'active') throw new ConflictError(`Customer ${customerId} is already being deleted`, 'id');
        await tx.customer.update({ where: { id: customerId }, data: { status: 'deleting' } });
        return tx.customerDeletion.create({
          data: { id: newId('deletion'), customerId, workflowId: workflowIds.customerDeletion(customerId) },
        });
      });
    } catch (error) {
      // A concurrent DELETE created the deletion first: answer with that one.
      const existing = isUniqueViolation(error) ? await this.findDeletion(scope, customerId) : null;
      if (existing) return existing;
      throw error;
    }
  }

  /** Starts the workflow unless it already runs: repairs a crash between commit and start. */
  private async ensureRunning(scope: Scope, deletion: CustomerDeletion): Promise<CustomerDeletion> {
    const handle = await this.deps.temporal.workflow.start<typeof customerDeletionWorkflow>('customerDeletionWorkflow', {
      taskQueue: this.deps.taskQueue,
      workflowId: deletion.workflowId,
      args: [{ customerId: deletion.customerId }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [
        { key: SEARCH_ATTRIBUTES.customerId, value: deletion.customerId },
        { key: SEARCH_ATTRIBUTES.merchantId, value: scope.merchantId },
      ],
    });
    if (deletion.runId === handle.firstExecutionRunId) return deletion;
    return this.deps.db.customerDeletion.update({
      where: { id: deletion.id },
      data: { runId: handle.firstExecutionRunId },
    });
  }
}
