import { operationsFor } from '../http/operation.js';
import type { AnalyticsService } from './analytics.service.js';
import { AnalyticsSummary, CustomerLtvList, StatsRollupObject, StatsRollupPath, TopCustomersQuery } from './analytics.schemas.js';
import type { StatsService } from './stats.service.js';

const op = operationsFor<{ analytics: AnalyticsService; stats: StatsService }>();
const tag = 'Analytics';

export const analyticsOperations = {
  listTopCustomers: op({
    method: 'get',
    path: '/v1/analytics/customers',
    tag,
    summary: 'List customers by lifetime value',
    description:
      'Customers ranked by total_spent in one currency (no conversion), from the stats the event bus keeps fresh ' +
      'and the nightly rollup reconciles. Continue with `starting_after` = the last customer_id of a page.',
    query: TopCustomersQuery,
    responses: { 200: { description: 'One page of customers, highest LTV first', schema: CustomerLtvList } },
    handle: ({ analytics }, { scope, query }) => analytics.topCustomers(scope, query),
  }),
  getAnalyticsSummary: op({
    method: 'get',
    path: '/v1/analytics/summary',
    tag,
    summary: 'Merchant totals per currency',
    description: 'Totals of every customer per currency, customers with and without payments, active subscriptions.',
    responses: { 200: { description: 'The totals', schema: AnalyticsSummary } },
    handle: ({ analytics }, { scope }) => analytics.summary(scope),
  }),
  startStatsRollup: op({
    method: 'post',
    path: '/v1/analytics/rollups',
    tag,
    summary: 'Recompute every customer stat now',
    description:
      "Starts the LTV rollup of the key's merchant and environment (the nightly schedule runs it for everyone) and " +
      'answers at once with its workflow run and a link to it in the Temporal Web UI; poll `status_url` for progress. ' +
      'One runs at a time per merchant and environment: while one is running, this answers that one (same id and run).',
    responses: { 202: { description: 'The rollup, started, or the one already running', schema: StatsRollupObject } },
    errors: [503],
    handle: ({ stats }, { scope }) => stats.startRollup(scope),
  }),
  getStatsRollup: op({
    method: 'get',
    path: '/v1/analytics/rollups/{id}',
    tag,
    summary: 'Retrieve a rollup and its progress',
    params: StatsRollupPath,
    responses: { 200: { description: 'The rollup: status, customers done and total', schema: StatsRollupObject } },
    errors: [404],
    handle: ({ stats }, { scope, params }) => stats.getRollup(scope, params.id),
  }),
};
