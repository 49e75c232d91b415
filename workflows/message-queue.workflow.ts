import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { messagesQueuedSignal, type MessageQueueInput } from './definitions.js';
import { drainQueue } from './queue-loop.js';

const { sendQueuedMessages } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * A merchant's receipts, refund notices and notifications (`message-queue:<merchant id>`): rows
 * the event bus queued, sent in batches by one activity per pass, like webhook deliveries. No
 * workflow per receipt.
 */
export async function messageQueueWorkflow(input: MessageQueueInput): Promise<'idle'> {
  return drainQueue({
    nudge: messagesQueuedSignal,
    pass: () => sendQueuedMessages(input.merchantId),
    continueAsNew: () => continueAsNew<typeof messageQueueWorkflow>(input),
  });
}
