import { z } from 'zod';
import { WireInteger } from '../lib/money.js';
import { Currency, CurrencyStats } from '../customers/customer.schemas.js';
import { idSchema } from '../lib/ids.js';
import { ListEnvelope } from '../lib/pagination.js';

export const TopCustomersQuery = z.strictObject({
  currency: Currency.meta({ description: 'LTV is kept per currency, without conversion: one currency per list.' }),
  order: z.enum(['ltv_desc']).default('ltv_desc').meta({ description: 'Highest total_spent first (ties: newest customer first).' }),
  limit: z.coerce.number().int().min(1).max(100).default(10),
  starting_after: idSchema(
    'customer',
    'The last customer id of the previous page: the list continues after it. It must be a customer of this list (with ' +
      'figures in `currency`); another id is refused with 400, naming `starting_after`.',
  ).optional(),
});
export type TopCustomersQuery = z.infer<typeof TopCustomersQuery>;

export const CustomerLtv = CurrencyStats.extend({
  object: z.literal('customer_ltv'),
  customer_id: z.string(),
  email: z.string().nullable(),
  name: z.string().nullable(),
}).meta({ id: 'CustomerLtv' });
export type CustomerLtv = z.infer<typeof CustomerLtv>;

export const CustomerLtvList = ListEnvelope(CustomerLtv).meta({ id: 'CustomerLtvList' });

export const CurrencySummary = z
  .object({
    currency: z.string(),
    total_spent: WireInteger.meta({ description: "Every customer's total_spent, integer minor units (a string of digits past 2^53 - 1)." }),
    total_spent_decimal: z.string(),
    payment_count: WireInteger,
    average_payment: WireInteger.meta({ description: 'total_spent / payment_count, rounded half up.' }),
    average_payment_decimal: z.string(),
    customers_with_payments: z.number().int(),
    mrr: WireInteger,
    mrr_decimal: z.string(),
    active_subscriptions: z.number().int(),
  })
  .meta({ id: 'CurrencySummary' });
export type CurrencySummary = z.infer<typeof CurrencySummary>;

export const AnalyticsSummary = z
  .object({
    object: z.literal('analytics_summary'),
    customers: z.object({
      total: z.number().int().meta({ description: 'Customers that are not deleted.' }),
      with_payments: z.number().int().meta({ description: 'Customers with a succeeded payment, in any currency.' }),
      without_payments: z.number().int(),
    }),
    active_subscriptions: z.number().int(),
    currencies: z.array(CurrencySummary).meta({ description: 'Merchant totals per currency, without conversion.' }),
    computed_at: z.iso.datetime().nullable().meta({ description: 'The most recent computation the totals include.' }),
  })
  .meta({ id: 'AnalyticsSummary' });
export type AnalyticsSummary = z.infer<typeof AnalyticsSummary>;

export const StatsRollupPath = z.object({ id: idSchema('statsRollup') });

export const StatsRollupObject = z
  .object({
    id: z.string().meta({ example: 'ltvr_01JD3Z6Q4W8V2G7R1M5K9T0XYZ' }),
    object: z.literal('stats_rollup'),
    status: z.enum(['running', 'completed', 'failed']),
    workflow_id: z.string(),
    run_id: z.string().nullable().meta({ description: 'The first run; the workflow continues as new between batches.' }),
    temporal_ui_url: z
      .url()
      .optional()
      .meta({ description: "The run in the Temporal Web UI; left out where the UI's address is not configured." }),
    customers_done: z.number().int(),
    customers_total: z.number().int().nullable().meta({ description: 'Live customers when the rollup began; null until it began.' }),
    failure_reason: z.string().nullable(),
    created: z.iso.datetime(),
    completed: z.iso.datetime().nullable(),
    status_url: z.string(),
  })
  .meta({ id: 'StatsRollup' });
export type StatsRollupObject = z.infer<typeof StatsRollupObject>;
