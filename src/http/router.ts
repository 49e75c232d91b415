import { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { ApiError, NotFoundError, ValidationError } from '../lib/errors.js';
import { idKindName, idKindOf } from '../lib/ids.js';
import { toFieldErrors, unstorableStrings } from '../lib/validation.js';
import type { AuthenticatedKey } from '../lib/scope.js';
import { requestIdOf } from './context.js';
import { IdempotencyKeyTakenOver, REPLAYED_HEADER, idempotencyClaimOf } from './idempotency.js';
import { defaultReply, type AnyOperation, type HttpMethod, type OperationList, type StreamedReply } from './operation.js';

/** `/v1/customers/{id}` → `/customers/:id` below a mount point. */
function expressPath(path: string, mountPoint: string): string {
  return path.slice(mountPoint.length).replace(/\{(\w+)\}/g, ':$1') || '/';
}

/**
 * Literal segments before parameters, so `/customers/external/batch` is matched before
 * `/customers/:id` would take "external" for an id.
 */
function bySpecificity(a: string, b: string): number {
  const as = a.split('/');
  const bs = b.split('/');
  for (let i = 0; i < Math.min(as.length, bs.length); i++) {
    const aParam = as[i]!.startsWith('{');
    const bParam = bs[i]!.startsWith('{');
    if (aParam !== bParam) return aParam ? 1 : -1;
  }
  return 0;
}

function parse<T extends z.ZodType>(schema: T, input: unknown, prefix?: string): z.output<T> {
  const unstorable = unstorableStrings(input, prefix);
  if (unstorable.length > 0) throw new ValidationError(unstorable);
  const result = schema.safeParse(input);
  if (!result.success) throw new ValidationError(toFieldErrors(result.error, prefix));
  return result.data;
}

/**
 * Path parameters: a malformed object id is an object that does not exist (404), as for any other
 * unknown id; other parameters (a tag) are validated like a body field (400).
 */
function parseParams(schema: z.ZodType | undefined, raw: Record<string, string>): unknown {
  if (!schema) return {};
  if (schema instanceof z.ZodObject) {
    for (const [name, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
      const kind = idKindOf(field);
      if (kind && !field.safeParse(raw[name]).success) {
        // Echoed in the message: made printable and short, since the answer is stored and logged.
        const shown = String(raw[name]).replace(/[^\x20-\x7e]/gu, '?').slice(0, 64);
        throw new NotFoundError(idKindName(kind), shown, name);
      }
    }
  }
  return parse(schema, raw);
}

function hasBody(body: unknown): boolean {
  if (body === undefined || body === null) return false;
  return typeof body !== 'object' || Object.keys(body).length > 0;
}

/** An operation without query parameters refuses any. */
const NO_QUERY = z.strictObject({});

function handlerFor(operation: AnyOperation, deps: unknown): RequestHandler {
  const querySchema = operation.query ?? NO_QUERY;
  return async (req: Request, res: Response) => {
    const params = parseParams(operation.params, req.params as Record<string, string>);
    const query = parse(querySchema, req.query);
    let body: unknown = {};
    if (operation.body) body = parse(operation.body, req.body ?? {});
    else if (hasBody(req.body)) throw ValidationError.field('body', 'This endpoint takes no request body');
    const scope = res.locals.auth as AuthenticatedKey;
    const claim = idempotencyClaimOf(res);
    if (operation.secretReply) claim?.protectReply();
    let result: unknown;
    try {
      result = await operation.handle(deps, {
        scope,
        params,
        query,
        body,
        requestId: requestIdOf(res),
        write: {
          merchantId: scope?.merchantId,
          environment: scope?.environment,
          ...(claim && { commitReply: (tx, value) => claim.commitReply(tx, defaultReply(operation, value)) }),
        },
      });
    } catch (error) {
      if (!(claim && error instanceof IdempotencyKeyTakenOver)) throw error;
      // A retry took this request's key over while it ran: its write rolled back, and it answers
      // what the retry answers.
      const answer = await claim.answerAsRetry();
      res.set(REPLAYED_HEADER, 'true').status(answer.status).json(answer.body);
      return;
    }
    if (operation.stream) {
      await claim?.release();
      await writeStreamed(res, operation.stream(result));
      return;
    }
    const reply = defaultReply(operation, result);
    if (reply.headers) res.set(reply.headers);
    res.status(reply.status).json(reply.body);
  };
}

/** Resolves once the response can take more, or is gone (the client went away). */
function drained(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * Writes a streamed reply with backpressure: the next piece is asked for only once the socket
 * took the last one. An error before the first piece is answered as any error; after it, the
 * connection is destroyed without the rest (a chunked body without its last chunk), and the
 * error goes on to the error handler, which logs it.
 */
async function writeStreamed(res: Response, reply: StreamedReply): Promise<void> {
  const chunks = reply.chunks[Symbol.asyncIterator]();
  let gone = false;
  res.once('close', () => (gone = true));
  try {
    for (;;) {
      const next = await chunks.next();
      if (next.done) break;
      if (gone || res.destroyed) return;
      if (!res.headersSent) res.status(reply.status).set({ 'Content-Type': 'application/json; charset=utf-8', ...reply.headers });
      if (!res.write(next.value)) await drained(res);
    }
    res.end();
  } catch (error) {
    if (res.headersSent) res.destroy();
    throw error;
  } finally {
    await chunks.return?.();
    await reply.close?.();
  }
}

function allowedMethods(methods: HttpMethod[]): string {
  const upper = methods.map((method) => method.toUpperCase());
  if (upper.includes('GET')) upper.push('HEAD');
  return [...new Set(upper)].sort().join(', ');
}

/**
 * A router serving `operations` found below `mountPoint` (e.g. "/v1"): each path answers its
 * declared methods, 405 with an Allow header for any other method, and OPTIONS with the list.
 */
export function operationsRouter(operations: AnyOperation[], deps: unknown, mountPoint = ''): Router {
  const router = Router();
  const byPath = new Map<string, AnyOperation[]>();
  for (const operation of operations) {
    byPath.set(operation.path, [...(byPath.get(operation.path) ?? []), operation]);
  }
  const paths = [...byPath.keys()].sort(bySpecificity);
  for (const path of paths) {
    for (const operation of byPath.get(path)!) {
      router[operation.method](expressPath(path, mountPoint), handlerFor(operation, deps));
    }
  }
  for (const path of paths) {
    const allow = allowedMethods(byPath.get(path)!.map((operation) => operation.method));
    router.all(expressPath(path, mountPoint), (req, res) => {
      res.set('Allow', allow);
      if (req.method === 'OPTIONS') {
        res.status(204).end();
        return;
      }
      throw new ApiError(405, 'invalid_request', `${req.method} is not allowed on ${path}; allowed: ${allow}`);
    });
  }
  return router;
}

/** Operations of a list that answer without an API key, and those under `/v1`. */
export function splitOperations(operations: OperationList): { public: AnyOperation[]; authenticated: AnyOperation[] } {
  const all = Object.values(operations);
  return { public: all.filter((operation) => operation.public), authenticated: all.filter((operation) => !operation.public) };
}
