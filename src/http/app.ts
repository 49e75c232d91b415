import express, { type RequestHandler } from 'express';
import { secretBox, type Config } from '../config.js';
import type { Db, SqlPool } from '../db.js';
import { ApiError, ValidationError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { jsonNestedDeeperThan } from '../lib/validation.js';
import type { Logger } from '../logger.js';
import type { KeyAuthenticator } from '../lib/scope.js';
import { unsubscribePage } from '../messaging/unsubscribe.page.js';
import { docsRoutes } from '../openapi/docs.routes.js';
import { OPERATIONS, type OperationDeps } from '../operations.js';
import { authenticate } from './auth.js';
import { errorHandler, notFoundRoute } from './errors.js';
import { idempotency } from './idempotency.js';
import { rateLimit } from './rate-limit.js';
import { operationsRouter, splitOperations } from './router.js';

export interface AppDeps {
  db: Db;
  pool: SqlPool;
  config: Config;
  logger: Logger;
  merchants: KeyAuthenticator;
  /** Whatever the operations' handlers need (services, probes). */
  handlers: OperationDeps;
}

/** JSON deeper than this is refused before anything walks it recursively. */
export const MAX_JSON_DEPTH = 32;

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Every response carries a request id: the caller's `x-request-id` when sane, else a new one. */
const requestId: RequestHandler = (req, res, next) => {
  const given = req.get('x-request-id');
  res.locals.requestId = given && REQUEST_ID.test(given) ? given : newId('request');
  res.set('Request-Id', res.locals.requestId);
  next();
};

/**
 * One log line per request when it ends: what was asked and how it went, under the request's id.
 * Never headers or bodies (keys, emails). Liveness probes are not logged.
 */
function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    if (req.path === '/health') return next();
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const line = { reqId: res.locals.requestId, method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10 };
      // A 500's cause is logged as an error by the error handler; this line only records it.
      if (res.statusCode >= 500) logger.warn(line, 'request failed');
      else logger.info(line, 'request completed');
    });
    next();
  };
}

/** Writes must be JSON: anything else is refused before it reaches a handler. */
const requireJson: RequestHandler = (req, _res, next) => {
  const hasBody = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
  if (hasBody && !req.is('application/json')) {
    throw new ApiError(415, 'invalid_request', 'Content-Type must be application/json', 'Content-Type');
  }
  next();
};

export function createApp({ db, pool, config, logger, merchants, handlers }: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(requestId);
  app.use(requestLog(logger));

  const operations = splitOperations(OPERATIONS);
  app.use(operationsRouter(operations.public, handlers));
  app.use(docsRoutes());
  app.use(unsubscribePage(handlers.messages));

  const v1 = express.Router();
  // Authenticate before reading a body, so an anonymous caller cannot make the API parse 1 MB.
  v1.use(authenticate(merchants));
  v1.use(rateLimit(pool, { perSecond: config.RATE_LIMIT_PER_SECOND, burst: config.RATE_LIMIT_BURST }));
  v1.use(
    requireJson,
    express.json({
      limit: config.BODY_LIMIT,
      strict: true,
      type: 'application/json',
      // Before JSON.parse: a small body nested thousands deep must not reach any recursive code.
      verify: (_req, _res, raw) => {
        if (jsonNestedDeeperThan(raw, MAX_JSON_DEPTH)) {
          throw ValidationError.field('body', `JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
        }
      },
    }),
  );
  v1.use(idempotency(db, logger, { leaseMs: config.IDEMPOTENCY_LEASE_MS, secrets: secretBox(config) }));
  v1.use(operationsRouter(operations.authenticated, handlers, '/v1'));
  v1.use(notFoundRoute());
  app.use('/v1', v1);

  app.use(notFoundRoute());
  app.use(errorHandler(logger));
  return app;
}
