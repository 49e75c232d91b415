import { Context } from '@temporalio/activity';
import type { MessageQueuePass } from '../workflows/definitions.js';
import type { MessageQueueService } from '../src/messaging/message-queue.service.js';
import { asActivity } from './failures.js';

export interface MessageActivityDeps {
  messageQueue: Pick<MessageQueueService, 'sendDue'>;
}

export const createMessageActivities = ({ messageQueue }: MessageActivityDeps) => ({
  /** One pass over a merchant's queued receipts and notifications; heartbeats after each send. */
  async sendQueuedMessages(merchantId: string): Promise<MessageQueuePass> {
    const context = Context.current();
    return asActivity(() => messageQueue.sendDue(merchantId, { heartbeat: () => context.heartbeat() }));
  },
});
