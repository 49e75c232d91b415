import { condition, continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { messagesQueuedSignal, type MessageQueueInput } from './definitions.js';

const { sendQueuedMessages } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

const IDLE_BEFORE_EXIT = '10 minutes';
const MAX_PASSES_PER_RUN = 500;

/**
 * A merchant's receipts, refund notices and notifications (`message-queue:<merchant id>`): rows
 * the event bus queued, sent in batches by one activity per pass, like webhook deliveries. No
 * workflow per receipt; between passes the run sleeps until a retry is due or a nudge arrives.
 */
export async function messageQueueWorkflow(input: MessageQueueInput): Promise<'idle'> {
  let nudged = false;
  setHandler(messagesQueuedSignal, () => {
    nudged = true;
  });
  for (let pass = 1; ; pass++) {
    nudged = false;
    const outcome = await sendQueuedMessages(input.merchantId);
    if (workflowInfo().continueAsNewSuggested || pass >= MAX_PASSES_PER_RUN) {
      await continueAsNew<typeof messageQueueWorkflow>(input);
    }
    if (outcome.moreDue || nudged) continue;
    if (outcome.nextDueAt === null) {
      if (!(await condition(() => nudged, IDLE_BEFORE_EXIT))) return 'idle';
      continue;
    }
    // Date.now() in a workflow is the deterministic workflow clock; the floor keeps a skew with the
    // database from becoming a busy loop.
    await condition(() => nudged, Math.max(Date.parse(outcome.nextDueAt) - Date.now(), 200));
  }
}
