import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { SEARCH_ATTRIBUTES, workflowIds, type WebhookEventInput } from '../../workflows/definitions';
import type { Db, DbTx, Prisma } from '../db';
import { newId } from '../lib/ids';
import type { Logger } from '../logger';
import type { Scope } from '../lib/scope';

export const EVENT_TYPES = ['customer.created', 'customer.updated', 'customer.deleted'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * Writes an event to the outbox inside the caller's transaction, so the event exists exactly when
 * the change it describes was committed. `object` is the API representation at that moment.
 */
export async function recordEvent(
  tx: DbTx,
  scope: Scope,
  type: EventType,
  object: { id: string; [field: string]: unknown },
): Promise<string> {
  const event = await tx.event.create({
    data: { id: newId('event'), merchantId: scope.merchantId, environment: scope.environment, type, data: { object } as Prisma.InputJsonObject },
    select: { id: true },
  });
  return event.id;
}

export interface EventDispatcherDeps {
  db: Db;
  temporal: Client;
  taskQueue: string;
  retry: WebhookEventInput['retry'];
  logger: Logger;
}

/**
 * Hands committed events to Temporal, one webhook workflow per event. Called right after a commit;
 * anything a crash leaves behind is picked up by `relayPending`, which the worker runs on a timer.
 */
export class EventDispatcher {
  constructor(private readonly deps: EventDispatcherDeps) {}

  async dispatch(eventIds: string[]): Promise<void> {
    if (eventIds.length === 0) return;
    const events = await this.deps.db.event.findMany({
      where: { id: { in: eventIds }, dispatchedAt: null },
      select: { id: true, merchantId: true, data: true },
    });
    for (const event of events) {
      await this.startWorkflow(event);
      await this.deps.db.event.update({ where: { id: event.id }, data: { dispatchedAt: new Date() } });
    }
  }

  /** Dispatch after commit without failing the request: the relay retries what this misses. */
  dispatchInBackground(eventIds: string[]): void {
    this.dispatch(eventIds).catch((error: unknown) => {
      this.deps.logger.warn({ err: error, eventIds }, 'event dispatch deferred to the relay');
    });
  }

  /** Dispatches events older than `minAgeMs` that were never handed over. Returns how many. */
  async relayPending(minAgeMs: number, batchSize = 100): Promise<number> {
    const pending = await this.deps.db.event.findMany({
      where: { dispatchedAt: null, createdAt: { lt: new Date(Date.now() - minAgeMs) } },
      orderBy: { createdAt: 'asc' },
      take: batchSize,
      select: { id: true },
    });
    await this.dispatch(pending.map((event) => event.id));
    return pending.length;
  }

  private async startWorkflow(event: { id: string; merchantId: string; data: unknown }): Promise<void> {
    const object = (event.data as { object?: { id?: string } }).object;
    const customerId = object?.id?.startsWith('cus_') ? object.id : undefined;
    const input: WebhookEventInput = { eventId: event.id, retry: this.deps.retry };
    try {
      await this.deps.temporal.workflow.start('webhookEventWorkflow', {
        taskQueue: this.deps.taskQueue,
        workflowId: workflowIds.webhookEvent(event.id),
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: [
          { key: SEARCH_ATTRIBUTES.merchantId, value: event.merchantId },
          ...(customerId ? [{ key: SEARCH_ATTRIBUTES.customerId, value: customerId }] : []),
        ],
      });
    } catch (error) {
      // A run for this event already finished: the event was delivered, only the mark was lost.
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
  }
}
