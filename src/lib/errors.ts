/** The error family every service throws; the HTTP error middleware turns it into a response. */
export const ERROR_TYPES = [
  'invalid_request',
  'unauthenticated',
  'not_found',
  'conflict',
  'idempotency_error',
  'rate_limited',
  'unavailable',
  'internal',
] as const;
export type ErrorType = (typeof ERROR_TYPES)[number];

export interface FieldError {
  param: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: ErrorType,
    message: string,
    readonly param?: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends ApiError {
  constructor(readonly errors: FieldError[]) {
    const first = errors[0] ?? { param: undefined, message: 'Invalid request' };
    const message =
      errors.length > 1 ? `${errors.length} invalid fields: ${errors.map((e) => e.param).join(', ')}` : first.message;
    super(400, 'invalid_request', message, first.param, { errors });
  }

  static field(param: string, message: string): ValidationError {
    return new ValidationError([{ param, message }]);
  }
}

export class NotFoundError extends ApiError {
  constructor(what: string, id: string, param?: string) {
    super(404, 'not_found', `No such ${what}: '${id}'`, param);
  }
}

export class ConflictError extends ApiError {
  constructor(message: string, param?: string, extra: Record<string, unknown> = {}) {
    super(409, 'conflict', message, param, extra);
  }
}

export class UnauthenticatedError extends ApiError {
  constructor(message: string) {
    super(401, 'unauthenticated', message);
  }
}

export class IdempotencyError extends ApiError {
  constructor(message: string, status = 422) {
    super(status, 'idempotency_error', message, 'Idempotency-Key');
  }
}

/** A dependency (the database, Temporal) cannot be reached right now: retry later. */
export class UnavailableError extends ApiError {
  constructor(message: string) {
    super(503, 'unavailable', message);
  }
}
