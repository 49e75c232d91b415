import { CustomerPath } from '../customers/customer.schemas.js';
import { operationsFor } from '../http/operation.js';
import type { MessageService } from './message.service.js';
import { CreateOptOutBody, DeletedOptOutObject, ListMessagesQuery, MessageList, OptOutList, OptOutObject, OptOutPath } from './message.schemas.js';

const op = operationsFor<{ messages: MessageService }>();
const tag = 'Messages';

export const messageOperations = {
  listCustomerMessages: op({
    method: 'get',
    path: '/v1/customers/{id}/messages',
    tag,
    summary: "List a customer's messages",
    description: 'Every email and SMS sent to the customer, or deliberately not sent (`skipped` with its reason), newest first.',
    params: CustomerPath,
    query: ListMessagesQuery,
    responses: { 200: { description: 'One page of messages', schema: MessageList } },
    errors: [404],
    handle: ({ messages }, { scope, params, query }) => messages.listForCustomer(scope, params.id, query),
  }),
  listCustomerOptOuts: op({
    method: 'get',
    path: '/v1/customers/{id}/opt_outs',
    tag,
    summary: "List a customer's opt-outs",
    params: CustomerPath,
    responses: { 200: { description: 'The channels the customer opted out of', schema: OptOutList } },
    errors: [404],
    handle: ({ messages }, { scope, params }) => messages.listOptOuts(scope, params.id),
  }),
  createCustomerOptOut: op({
    method: 'post',
    path: '/v1/customers/{id}/opt_outs',
    tag,
    summary: 'Opt a customer out of a channel',
    description:
      'As the unsubscribe link does: marketing messages on the channel stop (sequence steps on it are skipped; sequences ' +
      'with no other channel left end). Receipts and notices still go out. Emits `customer.unsubscribed`; repeating it changes nothing.',
    params: CustomerPath,
    body: CreateOptOutBody,
    responses: { 200: { description: 'The opt-out', schema: OptOutObject } },
    errors: [404],
    handle: ({ messages }, { write, params, body }) => messages.optOut(write, params.id, body.channel),
  }),
  deleteCustomerOptOut: op({
    method: 'delete',
    path: '/v1/customers/{id}/opt_outs/{channel}',
    tag,
    summary: 'Opt a customer back in',
    description: 'Only with the customer\'s consent. Emits `customer.resubscribed`.',
    params: OptOutPath,
    responses: { 200: { description: 'The removed opt-out', schema: DeletedOptOutObject } },
    errors: [404],
    handle: ({ messages }, { write, params }) => messages.optIn(write, params.id, params.channel),
  }),
};
