import type { Message, MessageOptOut } from '../generated/prisma/client.js';
import type { MessageObject, OptOutObject } from './message.schemas.js';

export function serializeMessage(message: Message): MessageObject {
  return {
    id: message.id,
    object: 'message',
    kind: message.kind,
    channel: message.channel,
    status: message.status,
    recipient: message.recipient,
    subject: message.subject,
    sequence_id: message.sequenceId,
    enrollment_id: message.enrollmentId,
    step: message.step,
    provider: message.provider,
    provider_message_id: message.providerMessageId,
    segments: message.segments,
    skip_reason: message.skipReason,
    error: message.error,
    attempts: message.attempts,
    created: message.createdAt.toISOString(),
    sent: message.sentAt?.toISOString() ?? null,
  };
}

export function serializeOptOut(optOut: Pick<MessageOptOut, 'customerId' | 'channel' | 'source' | 'createdAt'>): OptOutObject {
  return {
    object: 'opt_out',
    customer_id: optOut.customerId,
    channel: optOut.channel,
    source: optOut.source as OptOutObject['source'],
    created: optOut.createdAt.toISOString(),
  };
}
