import { z } from 'zod';
import { idSchema } from '../../lib/ids.js';
import { ListEnvelope, paginationQuery } from '../../lib/pagination.js';
import { Currency, CustomerIdField, Instant, MinorUnits, Text, Timestamp } from '../billing.schemas.js';

const STATUSES = ['pending', 'active', 'terminated', 'canceled'] as const;
const INTERVALS = ['month', 'year'] as const;
const BILLING_TIMES = ['in_advance', 'in_arrears'] as const;

export const CreateSubscriptionBody = z
  .strictObject({
    customer_id: CustomerIdField,
    plan_code: Text(100).meta({ example: 'pro_monthly' }),
    amount: z
      .number()
      .int()
      .min(0)
      .max(Number.MAX_SAFE_INTEGER)
      .meta({ description: "Price of one interval in the currency's minor unit.", example: 4900 }),
    currency: Currency,
    interval: z.enum(INTERVALS).default('month'),
    billing_time: z
      .enum(BILLING_TIMES)
      .default('in_arrears')
      .meta({
        description:
          '`in_advance`: each period is invoiced when it starts (a credit note gives back unused days on termination); ' +
          '`in_arrears`: when it ends (a closing invoice bills the elapsed days on termination).',
      }),
    start_date: Instant.optional().meta({
      description: 'Defaults to now. In the future: the subscription is `pending` until then. In the past: periods count from it.',
    }),
  })
  .meta({
    id: 'CreateSubscriptionBody',
    example: { customer_id: 'cus_01JD3Z6Q4W8V2G7R1M5K9T0XYZ', plan_code: 'pro_monthly', amount: 4900, currency: 'USD', interval: 'month', billing_time: 'in_arrears' },
  });
export type CreateSubscriptionBody = z.infer<typeof CreateSubscriptionBody>;

export const SubscriptionPath = z.object({ id: idSchema('subscription') });
const filters = { status: z.enum(STATUSES).optional(), plan_code: Text(100).optional() };
export const ListSubscriptionsQuery = paginationQuery('subscription').extend({ customer_id: CustomerIdField.optional(), ...filters });
export type ListSubscriptionsQuery = z.infer<typeof ListSubscriptionsQuery>;
export const CustomerSubscriptionsQuery = paginationQuery('subscription').extend(filters);

export const SubscriptionObject = z
  .object({
    id: z.string(),
    object: z.literal('subscription'),
    customer_id: z.string(),
    plan_code: z.string(),
    amount: MinorUnits,
    currency: z.string(),
    interval: z.enum(INTERVALS),
    billing_time: z.enum(BILLING_TIMES),
    status: z.enum(STATUSES).meta({
      description: '`pending` until its start date; `terminated` once ended while active; `canceled` when ended before it started.',
    }),
    current_period_start: Timestamp,
    current_period_end: Timestamp,
    canceled_at: Timestamp.nullable(),
    terminated_at: Timestamp.nullable(),
    created: Timestamp,
  })
  .meta({ id: 'Subscription' });
export type SubscriptionObject = z.infer<typeof SubscriptionObject>;

export const SubscriptionList = ListEnvelope(SubscriptionObject).meta({ id: 'SubscriptionList' });
