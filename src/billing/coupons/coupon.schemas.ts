import { z } from 'zod';
import { idSchema } from '../../lib/ids.js';
import { ListEnvelope, paginationQuery } from '../../lib/pagination.js';
import { Amount, Currency, CustomerIdField, MinorUnits, Text, Timestamp } from '../billing.schemas.js';

const STATUSES = ['active', 'terminated'] as const;

export const ApplyCouponBody = z
  .strictObject({
    customer_id: CustomerIdField,
    coupon_code: Text(64).meta({ example: 'WELCOME10' }),
    amount_off: Amount.nullish().meta({ description: 'A fixed discount in `currency`; or else `percent_off`.' }),
    currency: Currency.nullish(),
    percent_off: z.number().int().min(1).max(100).nullish().meta({ description: 'A whole percentage off; or else `amount_off`.' }),
    frequency: z
      .enum(['once', 'forever'])
      .default('once')
      .meta({
        description:
          '`once`: a fixed amount is used up across invoices until exhausted, a percentage applies to one invoice; ' +
          'then the coupon is terminated. `forever`: applies to every subscription invoice.',
      }),
  })
  .superRefine((body, context) => {
    if ((body.amount_off == null) === (body.percent_off == null)) {
      context.addIssue({ code: 'custom', path: ['amount_off'], message: 'give exactly one of amount_off and percent_off' });
    } else if (body.amount_off != null && body.currency == null) {
      context.addIssue({ code: 'custom', path: ['currency'], message: 'a fixed amount_off needs its currency' });
    } else if (body.percent_off != null && body.currency != null) {
      context.addIssue({ code: 'custom', path: ['currency'], message: 'a percentage applies in any currency; leave currency out' });
    }
  })
  .meta({
    id: 'ApplyCouponBody',
    // The refinement above, as JSON Schema states it: a fixed amount with its currency, or a percentage alone.
    oneOf: [
      {
        required: ['amount_off', 'currency'],
        properties: { amount_off: { type: 'integer' }, currency: { type: 'string' }, percent_off: { type: 'null' } },
      },
      {
        required: ['percent_off'],
        properties: { percent_off: { type: 'integer' }, amount_off: { type: 'null' }, currency: { type: 'null' } },
      },
    ],
  });
export type ApplyCouponBody = z.infer<typeof ApplyCouponBody>;

export const AppliedCouponPath = z.object({ id: idSchema('appliedCoupon') });
const filters = { status: z.enum(STATUSES).optional() };
export const ListAppliedCouponsQuery = paginationQuery('appliedCoupon').extend({ customer_id: CustomerIdField.optional(), ...filters });
export type ListAppliedCouponsQuery = z.infer<typeof ListAppliedCouponsQuery>;
export const CustomerCouponsQuery = paginationQuery('appliedCoupon').extend(filters);

export const AppliedCouponObject = z
  .object({
    id: z.string(),
    object: z.literal('applied_coupon'),
    customer_id: z.string(),
    coupon_code: z.string(),
    amount_off: MinorUnits.nullable(),
    currency: z.string().nullable(),
    percent_off: z.number().int().nullable(),
    frequency: z.enum(['once', 'forever']),
    amount_remaining: MinorUnits.nullable().meta({ description: 'What a fixed `once` coupon still discounts.' }),
    status: z.enum(STATUSES),
    created: Timestamp,
    terminated_at: Timestamp.nullable(),
  })
  .meta({ id: 'AppliedCoupon' });
export type AppliedCouponObject = z.infer<typeof AppliedCouponObject>;

export const AppliedCouponList = ListEnvelope(AppliedCouponObject).meta({ id: 'AppliedCouponList' });
