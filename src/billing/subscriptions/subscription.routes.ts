import { CustomerPath } from '../../customers/customer.schemas.js';
import { operationsFor } from '../../http/operation.js';
import type { SubscriptionService } from './subscription.service.js';
import {
  CreateSubscriptionBody,
  CustomerSubscriptionsQuery,
  ListSubscriptionsQuery,
  SubscriptionList,
  SubscriptionObject,
  SubscriptionPath,
} from './subscription.schemas.js';

const op = operationsFor<{ subscriptions: SubscriptionService }>();
const tag = 'Subscriptions';

export const subscriptionOperations = {
  createSubscription: op({
    method: 'post',
    path: '/v1/subscriptions',
    tag,
    summary: 'Subscribe a customer to a plan',
    description:
      "In the customer's currency. An active `in_advance` subscription is invoiced for its current period at once " +
      '(a finalized invoice, coupons and wallet credits applied). Emits `subscription.created`.',
    body: CreateSubscriptionBody,
    responses: { 201: { description: 'The subscription', schema: SubscriptionObject } },
    errors: [404, 409],
    handle: ({ subscriptions }, { write, body }) => subscriptions.create(write, body),
  }),
  listSubscriptions: op({
    method: 'get',
    path: '/v1/subscriptions',
    tag,
    summary: 'List subscriptions',
    query: ListSubscriptionsQuery,
    responses: { 200: { description: 'One page of subscriptions', schema: SubscriptionList } },
    handle: ({ subscriptions }, { scope, query }) => subscriptions.list(scope, query),
  }),
  getSubscription: op({
    method: 'get',
    path: '/v1/subscriptions/{id}',
    tag,
    summary: 'Retrieve a subscription',
    params: SubscriptionPath,
    responses: { 200: { description: 'The subscription', schema: SubscriptionObject } },
    errors: [404],
    handle: ({ subscriptions }, { scope, params }) => subscriptions.get(scope, params.id),
  }),
  cancelSubscription: op({
    method: 'post',
    path: '/v1/subscriptions/{id}/cancel',
    tag,
    summary: 'End a subscription now',
    description:
      'A pending subscription is `canceled` (`subscription.canceled`). An active one is `terminated` ' +
      '(`subscription.terminated`) and its period settled: in arrears, a finalized closing invoice for the elapsed ' +
      'days; in advance, a credit note for the unused days (what that period\'s invoice charged for it after coupons x ' +
      'days left / period days, rounded down; never more than that invoice billed minus earlier credit notes). ' +
      '409 when it already ended.',
    params: SubscriptionPath,
    responses: { 200: { description: 'The ended subscription', schema: SubscriptionObject } },
    errors: [404, 409],
    handle: ({ subscriptions }, { write, params }) => subscriptions.cancel(write, params.id),
  }),
  listCustomerSubscriptions: op({
    method: 'get',
    path: '/v1/customers/{id}/subscriptions',
    tag,
    summary: "List a customer's subscriptions",
    params: CustomerPath,
    query: CustomerSubscriptionsQuery,
    responses: { 200: { description: 'One page of subscriptions', schema: SubscriptionList } },
    errors: [404],
    handle: ({ subscriptions }, { scope, params, query }) => subscriptions.listForCustomer(scope, params.id, query),
  }),
};
