import type { Response } from 'express';
import type { AuthenticatedKey } from '../lib/scope.js';

/** The authenticated key of this request, set by the auth middleware for every /v1 route. */
export function scopeOf(res: Response): AuthenticatedKey {
  const auth = res.locals.auth as AuthenticatedKey | undefined;
  if (!auth) throw new Error('scopeOf called on a route without authentication');
  return auth;
}

export function requestIdOf(res: Response): string {
  return String(res.locals.requestId ?? 'unknown');
}
