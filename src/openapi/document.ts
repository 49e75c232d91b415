import { z } from 'zod';
import {
  createDocument,
  type oas31,
  type ZodOpenApiOperationObject,
  type ZodOpenApiPathsObject,
  type ZodOpenApiResponseObject,
} from 'zod-openapi';
import { InvoiceList, PaymentList } from '../billing/billing.schemas';
import {
  AddTagsBody,
  BatchUpsertBody,
  BatchUpsertItem,
  BatchUpsertResult,
  CreateCustomerBody,
  CustomerList,
  CustomerObject,
  ExternalPathParams,
  GetCustomerQuery,
  ListCustomersQuery,
  Tag,
  UpdateCustomerBody,
  UpsertCustomerBody,
  UpsertResult,
} from '../customers/customer.schemas';
import { DeletionObject } from '../deletions/deletion.service';
import { PaginationQuery } from '../http/pagination';
import { ErrorBody } from '../http/errors';
import {
  CreateWebhookEndpointBody,
  WebhookDeliveryList,
  WebhookEndpointList,
  WebhookEndpointObject,
} from '../webhooks/webhook.schemas';

// Request and response shapes come from the schemas the routes validate and serialize with. Only
// what no route has a schema for is declared here: path ids, the error body and the probes.

const CustomerId = z.string().meta({ description: 'Customer id', example: 'cus_01JD3Z6Q4W8V2G7R1M5K9T0XYZ' });
const WebhookEndpointId = z.string().meta({ description: 'Webhook endpoint id', example: 'we_01JD3Z6Q4W8V2G7R1M5K9T0XYZ' });
const CustomerPath = z.object({ id: CustomerId });
const WebhookEndpointPath = z.object({ id: WebhookEndpointId });

const DeletedWebhookEndpoint = WebhookEndpointObject.extend({ deleted: z.literal(true) }).meta({
  id: 'DeletedWebhookEndpoint',
});
const Health = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });
const Readiness = z
  .object({
    status: z.enum(['ready', 'not_ready']),
    checks: z.object({
      database: z.string().meta({ description: '"ok" or why the check failed' }),
      temporal: z.string().meta({ description: '"ok" or why the check failed' }),
    }),
  })
  .meta({ id: 'Readiness' });

const IdempotencyKey = z
  .string()
  .min(1)
  .max(255)
  .optional()
  .meta({
    param: {
      id: 'IdempotencyKey',
      in: 'header',
      name: 'Idempotency-Key',
      description:
        'Makes the write safe to retry for 24 h: the same key with the same request replays the stored response; ' +
        'the same key with a different request is refused with `idempotency_error`.',
    },
    example: '0b6f3a52-8d7e-4c51-9a47-3f2f0a3b9c11',
  });

const RequestIdHeader = z.string().meta({
  header: { id: 'RequestId', description: "The request's id: the caller's `x-request-id` when sane, else a new one." },
});
const IdempotentReplayedHeader = z
  .enum(['true', 'false'])
  .optional()
  .meta({
    header: {
      id: 'IdempotentReplayed',
      description: 'Sent when the request carried an Idempotency-Key: `true` when this response is a stored replay.',
    },
  });
const readHeaders = z.object({ 'Request-Id': RequestIdHeader });
const writeHeaders = readHeaders.extend({ 'Idempotent-Replayed': IdempotentReplayedHeader });

const errorResponse = (id: string, description: string, headers = readHeaders): ZodOpenApiResponseObject => ({
  id,
  description,
  headers,
  content: { 'application/json': { schema: ErrorBody } },
});

// Each response is created once so every operation refers to the same component.
const ERRORS = {
  400: errorResponse('BadRequest', '`invalid_request`: a parameter or the body is invalid; `errors` lists every invalid field.'),
  401: errorResponse('Unauthenticated', '`unauthenticated`: the API key is missing, unknown or revoked.'),
  404: errorResponse('NotFound', '`not_found`: no such object for this key, or no such route.'),
  409: errorResponse(
    'Conflict',
    '`conflict`: the change clashes with another customer or with a deletion in progress; ' +
      '`idempotency_error`: a request with the same Idempotency-Key is still running.',
    writeHeaders,
  ),
  413: errorResponse('PayloadTooLarge', '`invalid_request`: the body exceeds the size limit.'),
  415: errorResponse('UnsupportedMediaType', '`invalid_request`: the body is not UTF-8 JSON.'),
  422: errorResponse(
    'IdempotencyKeyReused',
    '`idempotency_error`: the Idempotency-Key was already used with a different request.',
    writeHeaders,
  ),
  429: errorResponse(
    'RateLimited',
    '`rate_limited`: this API key sent more requests than its limit; retry after `Retry-After` seconds.',
  ),
  500: errorResponse('InternalError', '`internal`: an unexpected error; the message carries the request id.'),
} as const;
type ErrorStatus = keyof typeof ERRORS;

interface Endpoint {
  tag: string;
  operationId: string;
  summary: string;
  description?: string;
  path?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  bodyExample?: unknown;
  responses: Record<number, { description: string; schema: z.ZodType }>;
  /** Errors beyond the ones every authenticated request can meet (400, 401, 429, 500). */
  errors?: ErrorStatus[];
}

function operation(endpoint: Endpoint, isWrite: boolean): ZodOpenApiOperationObject {
  const headers = isWrite ? writeHeaders : readHeaders;
  const statuses = new Set<ErrorStatus>([400, 401, 429, 500, ...(endpoint.errors ?? [])]);
  if (isWrite) statuses.add(422);
  if (endpoint.body) {
    statuses.add(413);
    statuses.add(415);
  }
  return {
    tags: [endpoint.tag],
    operationId: endpoint.operationId,
    summary: endpoint.summary,
    description: endpoint.description,
    // zod-openapi reads every key present, so absent locations must be left out, not undefined.
    requestParams: {
      ...(endpoint.path && { path: endpoint.path }),
      ...(endpoint.query && { query: endpoint.query }),
    },
    ...(isWrite && { parameters: [IdempotencyKey] }),
    requestBody: endpoint.body && {
      // Routes read a missing body as {}: the body is optional exactly when {} is valid.
      required: !endpoint.body.safeParse({}).success,
      content: { 'application/json': { schema: endpoint.body, example: endpoint.bodyExample } },
    },
    responses: {
      ...Object.fromEntries(
        Object.entries(endpoint.responses).map(([status, { description, schema }]) => [
          status,
          { description, headers, content: { 'application/json': { schema } } },
        ]),
      ),
      ...Object.fromEntries([...statuses].sort((a, b) => a - b).map((status) => [String(status), ERRORS[status]])),
    },
  };
}

const read = (endpoint: Endpoint) => operation(endpoint, false);
const write = (endpoint: Endpoint) => operation(endpoint, true);

const paths: ZodOpenApiPathsObject = {
  '/v1/customers': {
    post: write({
      tag: 'Customers',
      operationId: 'createCustomer',
      summary: 'Create a customer',
      description: 'Fails with 409 when a live customer already has the external_id or the email.',
      body: CreateCustomerBody,
      responses: { 201: { description: 'The new customer', schema: CustomerObject } },
      errors: [409],
    }),
    get: read({
      tag: 'Customers',
      operationId: 'listCustomers',
      summary: 'List customers',
      description: 'Active customers, newest first; `total` counts every match across pages.',
      query: ListCustomersQuery,
      responses: { 200: { description: 'One page of customers', schema: CustomerList } },
    }),
  },
  '/v1/customers/external/batch': {
    put: write({
      tag: 'Customers',
      operationId: 'batchUpsertCustomers',
      summary: 'Create or update many customers by external id',
      description:
        'Each item is validated and written on its own, shaped as `BatchUpsertItem`: a bad item is reported ' +
        'in `results` with status `error` and never blocks the others.',
      body: BatchUpsertBody,
      bodyExample: { items: [{ source: 'shopify', external_id: 'user_123', email: 'jane@example.com', name: 'Jane' }] },
      responses: { 200: { description: 'One result per item, in order', schema: BatchUpsertResult } },
    }),
  },
  '/v1/customers/external/{source}/{external_id}': {
    put: write({
      tag: 'Customers',
      operationId: 'upsertCustomer',
      summary: 'Create or update a customer by external id',
      description:
        'Metadata is merged key by key. A field that may no longer change (currency once billing objects ' +
        'exist) is kept and reported in `warnings`.',
      path: ExternalPathParams,
      body: UpsertCustomerBody,
      responses: {
        200: { description: 'The existing customer, updated', schema: UpsertResult },
        201: { description: 'A new customer', schema: UpsertResult },
      },
      errors: [409],
    }),
  },
  '/v1/customers/{id}': {
    get: read({
      tag: 'Customers',
      operationId: 'getCustomer',
      summary: 'Retrieve a customer',
      path: CustomerPath,
      query: GetCustomerQuery,
      responses: { 200: { description: 'The customer', schema: CustomerObject } },
      errors: [404],
    }),
    patch: write({
      tag: 'Customers',
      operationId: 'updateCustomer',
      summary: 'Update a customer',
      description: 'Only the fields sent change; null clears a field; metadata is merged key by key.',
      path: CustomerPath,
      body: UpdateCustomerBody,
      responses: { 200: { description: 'The updated customer', schema: CustomerObject } },
      errors: [404, 409],
    }),
    delete: write({
      tag: 'Customers',
      operationId: 'deleteCustomer',
      summary: 'Delete a customer',
      description:
        'Marks the customer `deleting` (it leaves lists and refuses changes), starts the deletion workflow and ' +
        'answers at once; poll `status_url`. Asking again returns the same deletion.',
      path: CustomerPath,
      responses: { 202: { description: 'The deletion, running', schema: DeletionObject } },
      errors: [404, 409],
    }),
  },
  '/v1/customers/{id}/deletion': {
    get: read({
      tag: 'Customers',
      operationId: 'getCustomerDeletion',
      summary: "Retrieve a customer's deletion",
      path: CustomerPath,
      responses: { 200: { description: 'The deletion and its progress', schema: DeletionObject } },
      errors: [404],
    }),
  },
  '/v1/customers/{id}/tags': {
    post: write({
      tag: 'Customers',
      operationId: 'addCustomerTags',
      summary: 'Add tags to a customer',
      path: CustomerPath,
      body: AddTagsBody,
      responses: { 200: { description: 'The customer with its tags', schema: CustomerObject } },
      errors: [404, 409],
    }),
  },
  '/v1/customers/{id}/tags/{tag}': {
    delete: write({
      tag: 'Customers',
      operationId: 'removeCustomerTag',
      summary: 'Remove a tag from a customer',
      path: CustomerPath.extend({ tag: Tag }),
      responses: { 200: { description: 'The customer with its tags', schema: CustomerObject } },
      errors: [404, 409],
    }),
  },
  '/v1/customers/{id}/payments': {
    get: read({
      tag: 'Billing',
      operationId: 'listCustomerPayments',
      summary: "List a customer's payments",
      path: CustomerPath,
      query: PaginationQuery,
      responses: { 200: { description: 'One page of payments', schema: PaymentList } },
      errors: [404],
    }),
  },
  '/v1/customers/{id}/invoices': {
    get: read({
      tag: 'Billing',
      operationId: 'listCustomerInvoices',
      summary: "List a customer's invoices",
      path: CustomerPath,
      query: PaginationQuery,
      responses: { 200: { description: 'One page of invoices', schema: InvoiceList } },
      errors: [404],
    }),
  },
  '/v1/webhook_endpoints': {
    post: write({
      tag: 'Webhooks',
      operationId: 'createWebhookEndpoint',
      summary: 'Create a webhook endpoint',
      description: 'The response carries the signing `secret`, shown only this once.',
      body: CreateWebhookEndpointBody,
      responses: { 201: { description: 'The new endpoint, with its secret', schema: WebhookEndpointObject } },
    }),
    get: read({
      tag: 'Webhooks',
      operationId: 'listWebhookEndpoints',
      summary: 'List webhook endpoints',
      query: PaginationQuery,
      responses: { 200: { description: 'One page of endpoints', schema: WebhookEndpointList } },
    }),
  },
  '/v1/webhook_endpoints/{id}': {
    get: read({
      tag: 'Webhooks',
      operationId: 'getWebhookEndpoint',
      summary: 'Retrieve a webhook endpoint',
      path: WebhookEndpointPath,
      responses: { 200: { description: 'The endpoint', schema: WebhookEndpointObject } },
      errors: [404],
    }),
    delete: write({
      tag: 'Webhooks',
      operationId: 'deleteWebhookEndpoint',
      summary: 'Delete a webhook endpoint',
      path: WebhookEndpointPath,
      responses: { 200: { description: 'The endpoint, deleted', schema: DeletedWebhookEndpoint } },
      errors: [404],
    }),
  },
  '/v1/webhook_endpoints/{id}/deliveries': {
    get: read({
      tag: 'Webhooks',
      operationId: 'listWebhookDeliveries',
      summary: "List a webhook endpoint's deliveries",
      path: WebhookEndpointPath,
      query: PaginationQuery,
      responses: { 200: { description: 'One page of deliveries', schema: WebhookDeliveryList } },
      errors: [404],
    }),
  },
  '/health': {
    get: {
      tags: ['Health'],
      operationId: 'health',
      summary: 'Liveness',
      security: [],
      responses: {
        200: { description: 'The process answers', headers: readHeaders, content: { 'application/json': { schema: Health } } },
      },
    },
  },
  '/ready': {
    get: {
      tags: ['Health'],
      operationId: 'ready',
      summary: 'Readiness',
      description: 'Whether the API reaches its database and Temporal namespace.',
      security: [],
      responses: {
        200: { description: 'Ready to serve', headers: readHeaders, content: { 'application/json': { schema: Readiness } } },
        503: {
          description: 'A dependency is unreachable',
          headers: readHeaders,
          content: { 'application/json': { schema: Readiness } },
        },
      },
    },
  },
};

let document: oas31.OpenAPIObject | undefined;

/** The OpenAPI 3.1 document of the API, built once per process. */
export function buildOpenApiDocument(): oas31.OpenAPIObject {
  document ??= createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Customer lifecycle API',
      version: 'v1',
      description:
        "Owns a merchant's customers and runs their long-running processes. Authenticate with a secret key " +
        '(`sk_sandbox_...` or `sk_live_...`) in `x-api-key` or as a Bearer token; a key sees only its merchant ' +
        'and environment. JSON bodies, snake_case fields; lists are `{ object: "list", data, total, has_more }`.',
    },
    tags: [
      { name: 'Customers' },
      { name: 'Billing', description: "A customer's payments and invoices" },
      { name: 'Webhooks', description: 'Endpoints that receive signed event notifications' },
      { name: 'Health', description: 'Probes for orchestrators; no key needed' },
    ],
    security: [{ ApiKeyAuth: [] }, { BearerAuth: [] }],
    components: {
      securitySchemes: {
        ApiKeyAuth: { type: 'apiKey', in: 'header', name: 'x-api-key' },
        BearerAuth: { type: 'http', scheme: 'bearer', description: 'The same secret key as a Bearer token.' },
      },
      // Referenced by BatchUpsertBody's description: the route validates each item on its own.
      schemas: { BatchUpsertItem },
    },
    paths,
  });
  return document;
}
