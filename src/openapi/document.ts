import { z } from 'zod';
import {
  createDocument,
  type oas31,
  type ZodOpenApiOperationObject,
  type ZodOpenApiPathsObject,
  type ZodOpenApiResponseObject,
} from 'zod-openapi';
import { BatchUpsertItem } from '../customers/customer.schemas.js';
import { ErrorBody } from '../http/errors.js';
import { WRITE_METHODS, type AnyOperation, type DeclaredErrorStatus, type ResponseSpec } from '../http/operation.js';
import { OPERATIONS } from '../operations.js';

// Only the document's info and the components every operation shares live here; each operation
// comes from its resource's declaration in src/operations.ts.

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
        'the same key with a different request is refused with `idempotency_error`. Use a new random value ' +
        '(a UUID v4) for every distinct write.',
    },
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
  404: errorResponse('NotFound', '`not_found`: no such object for this key (a malformed id included), or no such route.'),
  409: errorResponse(
    'Conflict',
    '`conflict`: the change clashes with another object or with a deletion in progress; ' +
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
  503: errorResponse('Unavailable', '`unavailable`: the database or Temporal cannot be reached right now; retry after `Retry-After` seconds.'),
} as const;
type ErrorStatus = keyof typeof ERRORS;

function operationObject(operationId: string, operation: AnyOperation): ZodOpenApiOperationObject {
  const isWrite = WRITE_METHODS.has(operation.method);
  const headers = isWrite ? writeHeaders : readHeaders;
  const statuses = new Set<ErrorStatus>(operation.public ? [] : [400, 401, 429, 500, 503]);
  for (const status of operation.errors ?? ([] as DeclaredErrorStatus[])) statuses.add(status);
  if (isWrite) statuses.add(422);
  if (operation.body) {
    statuses.add(413);
    statuses.add(415);
  }
  for (const status of Object.keys(operation.responses)) statuses.delete(Number(status) as ErrorStatus);
  return {
    tags: [operation.tag],
    operationId,
    summary: operation.summary,
    description: operation.description,
    ...(operation.public && { security: [] }),
    // zod-openapi reads every key present, so absent locations must be left out, not undefined.
    requestParams: {
      ...(operation.params && { path: operation.params }),
      ...(operation.query && { query: operation.query }),
    },
    ...(isWrite && { parameters: [IdempotencyKey] }),
    requestBody: operation.body && {
      // Handlers read a missing body as {}: the body is optional exactly when {} is valid.
      required: !operation.body.safeParse({}).success,
      content: { 'application/json': { schema: operation.body, example: operation.bodyExample } },
    },
    responses: {
      ...Object.fromEntries(
        (Object.entries(operation.responses) as [string, ResponseSpec][]).map(([status, { description, schema }]) => [
          status,
          { description, headers, content: { 'application/json': { schema } } },
        ]),
      ),
      ...Object.fromEntries([...statuses].sort((a, b) => a - b).map((status) => [String(status), ERRORS[status]])),
    },
  };
}

function paths(): ZodOpenApiPathsObject {
  const result: ZodOpenApiPathsObject = {};
  for (const [operationId, operation] of Object.entries(OPERATIONS) as [string, AnyOperation][]) {
    result[operation.path] = { ...result[operation.path], [operation.method]: operationObject(operationId, operation) };
  }
  return result;
}

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
    // In the order the operations list them, so a new resource's tag appears without an edit here.
    tags: [...new Set(Object.values(OPERATIONS).map((operation) => operation.tag))].map((name) => ({ name })),
    security: [{ ApiKeyAuth: [] }, { BearerAuth: [] }],
    components: {
      securitySchemes: {
        ApiKeyAuth: { type: 'apiKey', in: 'header', name: 'x-api-key' },
        BearerAuth: { type: 'http', scheme: 'bearer', description: 'The same secret key as a Bearer token.' },
      },
      // Referenced by BatchUpsertBody's description: the route validates each item on its own.
      schemas: { BatchUpsertItem },
    },
    paths: paths(),
  });
  return document;
}
