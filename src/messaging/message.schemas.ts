import { z } from 'zod';
import { CustomerPath } from '../customers/customer.schemas.js';
import { idSchema } from '../lib/ids.js';
import { ListEnvelope, paginationQuery } from '../lib/pagination.js';

export const Channel = z.enum(['email', 'sms']).meta({ id: 'MessageChannel', example: 'email' });
export type Channel = z.infer<typeof Channel>;

export const MessageObject = z
  .object({
    id: z.string().meta({ example: 'msg_01JD3Z6Q4W8V2G7R1M5K9T0XYZ' }),
    object: z.literal('message'),
    kind: z.enum(['sequence', 'receipt', 'refund_notice', 'notification', 'digest']),
    channel: Channel,
    status: z.enum(['queued', 'sending', 'sent', 'skipped', 'failed', 'unknown']).meta({
      description:
        '`sent`: the provider accepted it. `skipped`: deliberately not sent (see `skip_reason`). `failed`: the provider ' +
        'refused it or it could not be sent in time (see `error`). `unknown`: the provider call was cut off after the ' +
        'message may have been accepted; it is never sent again, so it cannot arrive twice. `queued`/`sending`: in progress.',
    }),
    recipient: z.string().nullable().meta({ description: 'Email address or E.164 number; null once the customer is erased.' }),
    subject: z.string().nullable().meta({
      description: 'Email subject; null for SMS, once the customer is erased, and once the message is older than the body retention (90 days by default).',
    }),
    sequence_id: z.string().nullable(),
    enrollment_id: z.string().nullable(),
    step: z.number().int().nullable().meta({ description: 'Index of the sequence step (0-based).' }),
    provider: z.string().nullable().meta({ example: 'smtp' }),
    provider_message_id: z.string().nullable().meta({ description: 'SMTP Message-ID or the SMS provider id (Twilio SM...).' }),
    segments: z.number().int().nullable().meta({ description: 'SMS segments the body took.' }),
    skip_reason: z.string().nullable(),
    error: z.string().nullable(),
    attempts: z.number().int(),
    created: z.iso.datetime(),
    sent: z.iso.datetime().nullable(),
  })
  .meta({ id: 'Message' });
export type MessageObject = z.infer<typeof MessageObject>;
export const MessageList = ListEnvelope(MessageObject).meta({ id: 'MessageList' });

export const ListMessagesQuery = paginationQuery('message').extend({
  sequence_id: idSchema('sequence').optional(),
  status: z.enum(['queued', 'sending', 'sent', 'skipped', 'failed', 'unknown']).optional(),
});
export type ListMessagesQuery = z.infer<typeof ListMessagesQuery>;

export const OptOutObject = z
  .object({
    object: z.literal('opt_out'),
    customer_id: z.string(),
    channel: Channel,
    source: z.enum(['unsubscribe_link', 'api', 'provider']).meta({
      description: '`unsubscribe_link`: the customer followed a link; `api`: you recorded it; `provider`: the SMS provider reported the number opted out.',
    }),
    created: z.iso.datetime(),
  })
  .meta({ id: 'OptOut' });
export type OptOutObject = z.infer<typeof OptOutObject>;

export const DeletedOptOutObject = OptOutObject.extend({ deleted: z.literal(true) }).meta({ id: 'DeletedOptOut' });

export const OptOutList = z
  .object({ object: z.literal('list'), data: z.array(OptOutObject) })
  .meta({ id: 'OptOutList' });

export const CreateOptOutBody = z.strictObject({ channel: Channel }).meta({ id: 'CreateOptOutBody', example: { channel: 'email' } });
export const OptOutPath = CustomerPath.extend({ channel: Channel });
