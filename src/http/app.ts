import express, { type RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import type { Client } from '@temporalio/client';
import { billingRoutes } from '../billing/billing.routes';
import type { Config } from '../config';
import { customerRoutes } from '../customers/customer.routes';
import type { Db } from '../db';
import { ApiError } from '../lib/errors';
import { newId } from '../lib/ids';
import type { Logger } from '../logger';
import { docsRoutes } from '../openapi/docs.routes';
import type { Services } from '../services';
import { webhookRoutes } from '../webhooks/webhook.routes';
import { authenticate } from './auth';
import { errorHandler, notFoundRoute } from './errors';
import { idempotency } from './idempotency';
import { rateLimit } from './rate-limit';
import { readinessRoutes } from './health';

export interface AppDeps {
  db: Db;
  temporal: Client;
  config: Config;
  logger: Logger;
  services: Services;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Every response carries a request id: the caller's `x-request-id` when sane, else a new one. */
const requestId: RequestHandler = (req, res, next) => {
  const given = req.get('x-request-id');
  res.locals.requestId = given && REQUEST_ID.test(given) ? given : newId('request');
  res.set('Request-Id', res.locals.requestId);
  next();
};

/** Writes must be JSON: anything else is refused before it reaches a handler. */
const requireJson: RequestHandler = (req, _res, next) => {
  const hasBody = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
  if (hasBody && !req.is('application/json')) {
    throw new ApiError(415, 'invalid_request', 'Content-Type must be application/json', 'Content-Type');
  }
  next();
};

export function createApp({ db, temporal, config, logger, services }: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(requestId);
  app.use(
    pinoHttp({
      logger,
      genReqId: (_req, res) => String((res as express.Response).locals.requestId),
      autoLogging: { ignore: (req) => req.url === '/health' },
    }),
  );

  app.use(readinessRoutes({ db, temporal, namespace: config.TEMPORAL_NAMESPACE }));
  app.use(docsRoutes());

  const v1 = express.Router();
  // Authenticate before reading a body, so an anonymous caller cannot make the API parse 1 MB.
  v1.use(authenticate(services.merchants));
  v1.use(rateLimit({ perSecond: config.RATE_LIMIT_PER_SECOND, burst: config.RATE_LIMIT_BURST }));
  v1.use(requireJson, express.json({ limit: config.BODY_LIMIT, strict: true, type: 'application/json' }));
  v1.use(idempotency(db, logger));
  v1.use(customerRoutes(services));
  v1.use(billingRoutes(services));
  v1.use(webhookRoutes(services));
  v1.use(notFoundRoute());
  app.use('/v1', v1);

  app.use(notFoundRoute());
  app.use(errorHandler(logger));
  return app;
}
