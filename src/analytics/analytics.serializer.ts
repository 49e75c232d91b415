import type { StatsRollup } from '../generated/prisma/client.js';
import { temporalRunUrl, type TemporalUi } from '../temporal/links.js';
import type { StatsRollupObject } from './analytics.schemas.js';

export function serializeRollup(rollup: StatsRollup, customersDone: number, ui: TemporalUi): StatsRollupObject {
  return {
    id: rollup.id,
    object: 'stats_rollup',
    status: rollup.status,
    workflow_id: rollup.workflowId,
    run_id: rollup.runId,
    ...(ui.url && { temporal_ui_url: temporalRunUrl(ui.url, ui.namespace, rollup.workflowId, rollup.runId) }),
    customers_done: customersDone,
    customers_total: rollup.customersTotal,
    failure_reason: rollup.failureReason,
    created: rollup.createdAt.toISOString(),
    completed: rollup.completedAt?.toISOString() ?? null,
    status_url: `/v1/analytics/rollups/${rollup.id}`,
  };
}
