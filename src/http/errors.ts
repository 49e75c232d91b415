import type { ErrorRequestHandler, RequestHandler } from 'express';
import { z } from 'zod';
import { ApiError, ERROR_TYPES, NotFoundError, UnavailableError } from '../lib/errors.js';
import type { Logger } from '../logger.js';
import { requestIdOf } from './context.js';

// body-parser's error types, mapped to what the client did wrong.
const BODY_ERRORS: Record<string, { status: number; message: string }> = {
  'entity.parse.failed': { status: 400, message: 'Malformed JSON in request body' },
  'entity.too.large': { status: 413, message: 'Request body is too large' },
  'encoding.unsupported': { status: 415, message: 'Unsupported content encoding' },
  'charset.unsupported': { status: 415, message: 'Unsupported charset: send UTF-8 JSON' },
  'request.aborted': { status: 400, message: 'Request aborted' },
};

/** The body of every error response, as `errorHandler` writes it. */
export const ErrorBody = z
  .object({
    error: z.object({
      type: z.enum(ERROR_TYPES),
      message: z.string(),
      param: z.string().optional().meta({ description: 'The field, query parameter or header at fault.' }),
      errors: z
        .array(z.object({ param: z.string(), message: z.string() }))
        .optional()
        .meta({ description: 'On validation errors: every invalid field, not only the first.' }),
      customer_id: z.string().optional().meta({ description: 'On conflicts: the existing customer involved.' }),
      enrollment_id: z.string().optional().meta({ description: 'On a conflicting enrolment: the enrolment the customer is in.' }),
      invoice_ids: z.array(z.string()).optional().meta({ description: 'On a refused finalization: the draft invoices at fault.' }),
      request_id: z.string().meta({ description: 'Quote it when reporting a problem.' }),
    }),
  })
  .meta({ id: 'Error' });
export type ErrorBody = z.infer<typeof ErrorBody>;

// Driver and Prisma codes for "the database is not there right now", and Temporal's gRPC
// UNAVAILABLE (14) and DEADLINE_EXCEEDED (4): the request may succeed later, so they are 503s.
const UNAVAILABLE_CODES = new Set(['P1001', 'P1002', 'P1017', 'P2024', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P03']);

// The pg driver's own words for a connection that went away or never came.
const UNAVAILABLE_MESSAGES = /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|the database system is (starting up|shutting down)|terminating connection due to administrator command/i;

function isUnavailable(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 4) return false;
  const { code, cause, name, message, meta } = error as { code?: unknown; cause?: unknown; name?: unknown; message?: unknown; meta?: { driverAdapterError?: unknown } };
  if (typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message)) return true;
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  if (name === 'ServiceError' && (code === 14 || code === 4)) return true;
  if (name === 'DriverAdapterError' && typeof cause === 'object' && cause && 'kind' in cause) {
    const kind = String((cause as { kind: unknown }).kind);
    if (/Connect|Closed|Timeout|DatabaseNotReachable/i.test(kind)) return true;
  }
  // Prisma's known request errors (P2039...) carry the driver's error in their meta, not as a cause.
  return isUnavailable(cause, depth + 1) || isUnavailable(meta?.driverAdapterError, depth + 1);
}

export function notFoundRoute(): RequestHandler {
  return (req) => {
    throw new NotFoundError('route', `${req.method} ${req.path}`);
  };
}

/**
 * The single place errors become responses: `{ error: { type, message, param?, ... } }`.
 * Anything not an ApiError is logged and answered as a redacted 500 carrying the request id.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, _req, res, _next) => {
    const requestId = requestIdOf(res);
    let apiError: ApiError;
    const bodyError = typeof error === 'object' && error !== null && 'type' in error ? BODY_ERRORS[String(error.type)] : undefined;
    if (error instanceof ApiError) {
      apiError = error;
    } else if (bodyError) {
      apiError = new ApiError(bodyError.status, 'invalid_request', bodyError.message);
    } else if (error instanceof URIError) {
      // The router could not decode a path segment (bytes that are not UTF-8).
      apiError = new ApiError(400, 'invalid_request', 'The path is not valid percent-encoded UTF-8', 'path');
    } else if (isUnavailable(error)) {
      logger.warn({ err: error, requestId }, 'a dependency is unavailable');
      apiError = new UnavailableError('A service this request needs is unavailable right now; retry later');
      res.set('Retry-After', '5');
    } else {
      logger.error({ err: error, requestId }, 'unhandled error');
      apiError = new ApiError(500, 'internal', `Internal error; quote request id ${requestId} when reporting it`);
    }
    if (res.headersSent) return;
    const body: ErrorBody = {
      error: {
        type: apiError.type,
        message: apiError.message,
        ...(apiError.param ? { param: apiError.param } : {}),
        ...apiError.extra,
        request_id: requestId,
      },
    };
    res.status(apiError.status).json(body);
  };
}
