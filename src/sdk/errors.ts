import type { ErrorType, FieldError } from '../lib/errors.js';

/** `unexpected_response`: the answer was not the API's error body, e.g. from a proxy in between. */
export type ApiRequestErrorType = ErrorType | 'unexpected_response';

interface ErrorBody {
  error: {
    type: ErrorType;
    message: string;
    param?: string;
    errors?: FieldError[];
    customer_id?: string;
    request_id?: string;
  };
}

function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== 'object' || value === null || !('error' in value)) return false;
  const { error } = value;
  return typeof error === 'object' && error !== null && 'type' in error && 'message' in error;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A non-2xx answer from the API, carrying its `{ error: { type, message, param, ... } }` fields. */
export class ApiRequestError extends Error {
  readonly status: number;
  readonly type: ApiRequestErrorType;
  readonly param: string | undefined;
  /** On validation errors, every invalid field; `param` is the first of them. */
  readonly errors: FieldError[];
  readonly requestId: string | undefined;
  /** On conflicts, the existing customer involved. */
  readonly customerId: string | undefined;

  constructor(
    status: number,
    fields: {
      type: ApiRequestErrorType;
      message: string;
      param?: string;
      errors?: FieldError[];
      requestId?: string;
      customerId?: string;
    },
  ) {
    super(fields.message);
    this.name = 'ApiRequestError';
    this.status = status;
    this.type = fields.type;
    this.param = fields.param;
    this.errors = fields.errors ?? [];
    this.requestId = fields.requestId;
    this.customerId = fields.customerId;
  }

  static async fromResponse(response: Response): Promise<ApiRequestError> {
    const text = await response.text();
    const body = parseJson(text);
    const headerRequestId = response.headers.get('request-id') ?? undefined;
    if (!isErrorBody(body)) {
      return new ApiRequestError(response.status, {
        type: 'unexpected_response',
        message: `HTTP ${response.status}: ${text.slice(0, 200)}`,
        requestId: headerRequestId,
      });
    }
    const { error } = body;
    return new ApiRequestError(response.status, {
      type: error.type,
      message: error.message,
      param: error.param,
      errors: error.errors,
      requestId: error.request_id ?? headerRequestId,
      customerId: error.customer_id,
    });
  }
}
