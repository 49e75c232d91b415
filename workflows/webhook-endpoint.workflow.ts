import { condition, continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { webhookDeliveriesDueSignal, type WebhookEndpointInput } from './definitions.js';

const { deliverDueWebhooks } = proxyActivities<Activities>({
  // A pass sends at most a batch with bounded concurrency, each attempt within WEBHOOK_TIMEOUT_MS;
  // the heartbeat after every attempt notices a pass stuck in a dead worker long before this.
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/** Without pending deliveries and without a nudge for this long, the run ends; a nudge starts a new one. */
const IDLE_BEFORE_EXIT = '10 minutes';
/** Bounds the history of a busy endpoint even before Temporal suggests continuing as new. */
const MAX_PASSES_PER_RUN = 500;

/**
 * The delivery loop of one webhook endpoint (`webhook-endpoint:<id>`), so one slow or failing
 * endpoint never delays another's deliveries. Deliveries are rows in the database: each pass (one
 * activity) sends the due ones in a batch and schedules retries; between passes the run sleeps
 * until the earliest retry is due or a nudge (a signal without payload) says new deliveries exist.
 */
export async function webhookEndpointWorkflow(input: WebhookEndpointInput): Promise<'endpoint removed' | 'idle'> {
  let nudged = false;
  setHandler(webhookDeliveriesDueSignal, () => {
    nudged = true;
  });

  for (let pass = 1; ; pass++) {
    nudged = false;
    const outcome = await deliverDueWebhooks(input.endpointId);
    if (!outcome.endpointActive) return 'endpoint removed';
    if (workflowInfo().continueAsNewSuggested || pass >= MAX_PASSES_PER_RUN) {
      await continueAsNew<typeof webhookEndpointWorkflow>(input);
    }
    if (outcome.moreDue || nudged) continue;
    if (outcome.nextDueAt === null) {
      if (!(await condition(() => nudged, IDLE_BEFORE_EXIT))) return 'idle';
      continue;
    }
    // Date.now() in a workflow is the deterministic workflow clock; the floor keeps a clock skew
    // between it and the database from turning into a busy loop.
    const wait = Date.parse(outcome.nextDueAt) - Date.now();
    await condition(() => nudged, Math.max(wait, 200));
  }
}
