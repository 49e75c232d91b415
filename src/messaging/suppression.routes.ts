import { operationsFor } from '../http/operation.js';
import type { SuppressionService } from './suppression.service.js';
import { DeletedSuppressionObject, ListSuppressionsQuery, SuppressionList as SuppressionListSchema, SuppressionPath } from './suppression.schemas.js';

const op = operationsFor<{ suppressions: SuppressionService }>();
const tag = 'Messages';

export const suppressionOperations = {
  listSuppressions: op({
    method: 'get',
    path: '/v1/suppressions',
    tag,
    summary: 'List suppressed addresses',
    description:
      'Addresses that opted out of marketing messages (sequence steps) in this environment, newest first: by the unsubscribe ' +
      'link, an opt-out you recorded, or the SMS provider (STOP). Only a keyed hash of each address is kept, so an entry ' +
      'outlives the customer who opted out (deletion and erasure) and stops marketing to any customer with the address. ' +
      '`address` finds the entries of one address (emails in any case). Receipts and notices are transactional and not suppressed.',
    query: ListSuppressionsQuery,
    responses: { 200: { description: 'One page of suppressions', schema: SuppressionListSchema } },
    handle: ({ suppressions }, { scope, query }) => suppressions.list(scope, query),
  }),
  deleteSuppression: op({
    method: 'delete',
    path: '/v1/suppressions/{id}',
    tag,
    summary: 'Remove a suppressed address',
    description:
      'Only with the person\'s new consent: marketing messages to the address resume. A customer\'s own opt-out is removed with ' +
      '`DELETE /v1/customers/{id}/opt_outs/{channel}`, which removes the suppression of their address too.',
    params: SuppressionPath,
    responses: { 200: { description: 'The removed suppression', schema: DeletedSuppressionObject } },
    errors: [404],
    handle: ({ suppressions }, { write, params }) => suppressions.remove(write, params.id),
  }),
};
