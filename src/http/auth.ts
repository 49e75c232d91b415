import type { RequestHandler } from 'express';
import type { KeyAuthenticator } from '../lib/scope.js';

function presentedKey(header: string | undefined, authorization: string | undefined): string | undefined {
  if (header) return header.trim();
  const match = authorization?.match(/^Bearer\s+(\S+)\s*$/i);
  return match?.[1];
}

/** Accepts the key from `x-api-key` or `Authorization: Bearer`, and scopes the request to it. */
export function authenticate(merchants: KeyAuthenticator): RequestHandler {
  return async (req, res, next) => {
    res.locals.auth = await merchants.authenticate(presentedKey(req.get('x-api-key'), req.get('authorization')));
    next();
  };
}
