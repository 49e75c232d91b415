import { operationsFor } from '../http/operation.js';
import type { CustomerService, UpsertOutcome } from './customer.service.js';
import {
  AddTagsBody,
  BatchUpsertBody,
  BatchUpsertResult,
  CreateCustomerBody,
  CustomerList,
  CustomerObject,
  CustomerPath,
  CustomerTagPath,
  ExternalPathParams,
  GetCustomerQuery,
  ListCustomersQuery,
  UpdateCustomerBody,
  UpsertCustomerBody,
  UpsertResult,
} from './customer.schemas.js';

const op = operationsFor<{ customers: CustomerService }>();
const tag = 'Customers';

export const customerOperations = {
  createCustomer: op({
    method: 'post',
    path: '/v1/customers',
    tag,
    summary: 'Create a customer',
    description:
      'Fails with 409 when a live customer already has the email, or the same external_id in the same ' +
      'external_source (an external_id without a source is a namespace of its own).',
    body: CreateCustomerBody,
    responses: { 201: { description: 'The new customer', schema: CustomerObject } },
    errors: [409],
    handle: ({ customers }, { write, body }) => customers.create(write, body),
  }),
  listCustomers: op({
    method: 'get',
    path: '/v1/customers',
    tag,
    summary: 'List customers',
    description: 'Active customers, newest first; `total` counts every match across pages.',
    query: ListCustomersQuery,
    responses: { 200: { description: 'One page of customers', schema: CustomerList } },
    handle: ({ customers }, { scope, query }) => customers.list(scope, query),
  }),
  batchUpsertCustomers: op({
    method: 'put',
    path: '/v1/customers/external/batch',
    tag,
    summary: 'Create or update many customers by external source and id',
    description:
      'Each item, shaped as `BatchUpsertItem`, is validated and judged on its own: a bad item is reported in ' +
      '`results` with status `error` and never blocks the others. Identity is the pair (source, external_id).',
    body: BatchUpsertBody,
    bodyExample: { items: [{ source: 'shopify', external_id: 'user_123', email: 'jane@example.com', name: 'Jane' }] },
    responses: { 200: { description: 'One result per item, in order', schema: BatchUpsertResult } },
    handle: ({ customers }, { write, body }) => customers.batchUpsert(write, body.items),
  }),
  upsertCustomer: op({
    method: 'put',
    path: '/v1/customers/external/{source}/{external_id}',
    tag,
    summary: 'Create or update a customer by external source and id',
    description:
      'The pair (source, external_id) identifies the customer: two integrations may both have a customer "123". ' +
      'Metadata is merged key by key. A field that may no longer change (currency once billing objects exist) ' +
      'is kept and reported in `warnings`.',
    params: ExternalPathParams,
    body: UpsertCustomerBody,
    responses: {
      200: { description: 'The existing customer, updated', schema: UpsertResult },
      201: { description: 'A new customer', schema: UpsertResult },
    },
    errors: [409],
    handle: ({ customers }, { write, params, body }) => customers.upsertByExternalId(write, params.source, params.external_id, body),
    reply: (outcome: UpsertOutcome) => ({ status: outcome.created ? 201 : 200, body: outcome }),
  }),
  getCustomer: op({
    method: 'get',
    path: '/v1/customers/{id}',
    tag,
    summary: 'Retrieve a customer',
    params: CustomerPath,
    query: GetCustomerQuery,
    responses: { 200: { description: 'The customer', schema: CustomerObject } },
    errors: [404],
    handle: ({ customers }, { scope, params, query }) =>
      customers.get(scope, params.id, { expandStats: query.expand.includes('stats') }),
  }),
  updateCustomer: op({
    method: 'patch',
    path: '/v1/customers/{id}',
    tag,
    summary: 'Update a customer',
    description: 'Only the fields sent change; null clears a field; metadata is merged key by key.',
    params: CustomerPath,
    body: UpdateCustomerBody,
    responses: { 200: { description: 'The updated customer', schema: CustomerObject } },
    errors: [404, 409],
    handle: ({ customers }, { write, params, body }) => customers.update(write, params.id, body),
  }),
  addCustomerTags: op({
    method: 'post',
    path: '/v1/customers/{id}/tags',
    tag,
    summary: 'Add tags to a customer',
    description: 'Emits `customer.tag_added` once per tag the customer did not have.',
    params: CustomerPath,
    body: AddTagsBody,
    responses: { 200: { description: 'The customer with its tags', schema: CustomerObject } },
    errors: [404, 409],
    handle: ({ customers }, { write, params, body }) => customers.addTags(write, params.id, body.tags),
  }),
  removeCustomerTag: op({
    method: 'delete',
    path: '/v1/customers/{id}/tags/{tag}',
    tag,
    summary: 'Remove a tag from a customer',
    description: 'Emits `customer.tag_removed` when the customer had the tag.',
    params: CustomerTagPath,
    responses: { 200: { description: 'The customer with its tags', schema: CustomerObject } },
    errors: [404, 409],
    handle: ({ customers }, { write, params }) => customers.removeTag(write, params.id, params.tag),
  }),
};
