import type { DeletionProgress } from '../../workflows/definitions.js';
import type { CustomerDeletion } from '../generated/prisma/client.js';
import { temporalRunUrl, type TemporalUi } from '../temporal/links.js';
import type { DeletionObject } from './deletion.schemas.js';

export function serializeDeletion(deletion: CustomerDeletion, ui: TemporalUi, progress?: DeletionProgress): DeletionObject {
  return {
    id: deletion.id,
    object: 'customer_deletion',
    customer_id: deletion.customerId,
    status: deletion.status,
    current_step: deletion.currentStep,
    workflow_id: deletion.workflowId,
    run_id: deletion.runId,
    ...(ui.url && { temporal_ui_url: temporalRunUrl(ui.url, ui.namespace, deletion.workflowId, deletion.runId) }),
    failure_reason: deletion.failureReason,
    created: deletion.createdAt.toISOString(),
    completed: deletion.completedAt?.toISOString() ?? null,
    status_url: `/v1/customers/${deletion.customerId}/deletion`,
    ...(progress ? { steps: progress.steps } : {}),
  };
}
