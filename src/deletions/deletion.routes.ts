import { CustomerPath } from '../customers/customer.schemas.js';
import { operationsFor } from '../http/operation.js';
import type { DeletionService } from './deletion.service.js';
import { DeletionObject } from './deletion.schemas.js';

const op = operationsFor<{ deletions: DeletionService }>();
const tag = 'Customers';

export const deletionOperations = {
  deleteCustomer: op({
    method: 'delete',
    path: '/v1/customers/{id}',
    tag,
    summary: 'Delete a customer',
    description:
      'Marks the customer `deleting` (it leaves lists and refuses changes), starts the deletion workflow and ' +
      'answers at once with the deletion and a link to its run in the Temporal Web UI; poll `status_url`. ' +
      'Asking again, even concurrently, returns the same deletion and run.',
    params: CustomerPath,
    responses: { 202: { description: 'The deletion', schema: DeletionObject } },
    errors: [404],
    handle: ({ deletions }, { write, params }) => deletions.request(write, params.id),
  }),
  getCustomerDeletion: op({
    method: 'get',
    path: '/v1/customers/{id}/deletion',
    tag,
    summary: "Retrieve a customer's deletion",
    params: CustomerPath,
    responses: { 200: { description: 'The deletion and its progress', schema: DeletionObject } },
    errors: [404],
    handle: ({ deletions }, { scope, params }) => deletions.get(scope, params.id),
  }),
  retryCustomerDeletion: op({
    method: 'post',
    path: '/v1/customers/{id}/deletion/retry',
    tag,
    summary: 'Retry a deletion waiting for action',
    description: 'Resumes the deletion from the step that failed. 409 unless its status is `action_required`.',
    params: CustomerPath,
    responses: { 202: { description: 'The deletion, resuming', schema: DeletionObject } },
    errors: [404, 409, 503],
    handle: ({ deletions }, { scope, params }) => deletions.retry(scope, params.id),
  }),
};
