import { Context } from '@temporalio/activity';
import type { MessageQueuePass } from '../workflows/definitions.js';
import type { DigestService } from '../src/analytics/digest.service.js';
import type { Config } from '../src/config.js';
import type { Clock } from '../src/lib/clock.js';
import type { MessageService } from '../src/messaging/message.service.js';
import { MessageSteps } from '../src/messaging/message.steps.js';
import type { MessageStore } from '../src/messaging/message.store.js';
import { asActivity } from './failures.js';

export interface MessageActivityDeps {
  stores: { messages: MessageStore };
  messages: Pick<MessageService, 'send' | 'sendingColumns'>;
  digests: Pick<DigestService, 'compose'>;
  clock: Clock;
  config: Pick<Config, 'MESSAGE_RETRY_SCHEDULE'>;
}

/** The bodies of the message queue's activities, built from the services. */
export const createMessageSteps = (deps: MessageActivityDeps) =>
  new MessageSteps({
    store: deps.stores.messages,
    messages: deps.messages,
    digests: deps.digests,
    clock: deps.clock,
    retrySchedule: deps.config.MESSAGE_RETRY_SCHEDULE,
  });

export const createMessageActivities = (deps: MessageActivityDeps) => {
  const steps = createMessageSteps(deps);
  return {
    /** One pass over a merchant's queued receipts and notifications; heartbeats after each send. */
    async sendQueuedMessages(merchantId: string): Promise<MessageQueuePass> {
      const context = Context.current();
      return asActivity(() => steps.sendDue(merchantId, { heartbeat: () => context.heartbeat() }));
    },
  };
};
