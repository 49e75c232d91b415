import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { webhookDeliveriesDueSignal, type WebhookEndpointInput } from './definitions.js';
import { drainQueue } from './queue-loop.js';

const { deliverDueWebhooks } = proxyActivities<Activities>({
  // A pass sends at most a batch with bounded concurrency, each attempt within WEBHOOK_TIMEOUT_MS;
  // the heartbeat after every attempt notices a pass stuck in a dead worker long before this.
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * The delivery loop of one webhook endpoint (`webhook-endpoint:<id>`), so one slow or failing
 * endpoint never delays another's deliveries. Deliveries are rows in the database: each pass (one
 * activity) sends the due ones in a batch and schedules retries.
 */
export async function webhookEndpointWorkflow(input: WebhookEndpointInput): Promise<'endpoint removed' | 'idle'> {
  return drainQueue({
    nudge: webhookDeliveriesDueSignal,
    pass: () => deliverDueWebhooks(input.endpointId),
    stop: (outcome) => (outcome.endpointActive ? undefined : 'endpoint removed'),
    continueAsNew: () => continueAsNew<typeof webhookEndpointWorkflow>(input),
  });
}
