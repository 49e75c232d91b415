import { z } from 'zod';
import { E164, Email, Phone } from '../customers/customer.schemas.js';
import { idSchema } from '../lib/ids.js';
import { ListEnvelope, paginationQuery } from '../lib/pagination.js';
import { unanchored } from '../lib/validation.js';
import { Channel } from './message.schemas.js';

export const SuppressionSource = z.enum(['unsubscribe_link', 'api', 'provider']).meta({
  description:
    '`unsubscribe_link`: a customer followed the link of a message; `api`: you recorded an opt-out; `provider`: the SMS provider reported the number opted out (STOP).',
});

export const SuppressionObject = z
  .object({
    id: z.string().meta({ example: 'sup_01JD3Z6Q4W8V2G7R1M5K9T0XYZ' }),
    object: z.literal('suppression'),
    channel: Channel,
    source: SuppressionSource,
    created: z.iso.datetime(),
  })
  .meta({
    id: 'Suppression',
    description:
      'An address that opted out of marketing messages on a channel in this environment. Only a keyed hash of the address is ' +
      'kept, so it outlives the customer (deletion and erasure) and applies to any customer with the address; find one by ' +
      '`address`.',
  });
export type SuppressionObject = z.infer<typeof SuppressionObject>;
export const SuppressionList = ListEnvelope(SuppressionObject).meta({ id: 'SuppressionList' });
export const DeletedSuppressionObject = SuppressionObject.extend({ deleted: z.literal(true) }).meta({ id: 'DeletedSuppression' });

export const ListSuppressionsQuery = paginationQuery('suppression').extend({
  channel: Channel.optional(),
  address: z
    .string()
    .trim()
    .refine((value) => Email.safeParse(value).success || Phone.safeParse(value).success, 'expected an email address or an E.164 phone number such as "+14155550123"')
    .optional()
    .meta({
      pattern: `^(?:${unanchored(z.regexes.email)}|${unanchored(E164)})$`,
      maxLength: 320,
      description: 'An email address (any case) or a valid E.164 number: the suppressions of that address.',
    }),
});
export type ListSuppressionsQuery = z.infer<typeof ListSuppressionsQuery>;

export const SuppressionPath = z.object({ id: idSchema('suppression') });
