import type { z } from 'zod';
import type { WriteContext } from '../lib/scope.js';
import type { AuthenticatedKey } from '../lib/scope.js';

// An endpoint is declared once, as an Operation in its resource's `*.routes.ts`; the Express router
// (src/http/router.ts), the OpenAPI document (src/openapi/document.ts) and the typed SDK
// (src/sdk/client.ts) are all derived from the list in src/operations.ts.

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';
export const WRITE_METHODS: ReadonlySet<HttpMethod> = new Set(['post', 'put', 'patch', 'delete']);

/** Error statuses an operation may declare beyond the ones every authenticated request can meet. */
export type DeclaredErrorStatus = 404 | 409 | 503;

export interface ResponseSpec {
  description: string;
  schema: z.ZodType;
}

export type Responses = { [status: number]: ResponseSpec };

type Parsed<S> = S extends z.ZodType ? z.output<S> : Record<string, never>;

export interface OperationInput<Params, Query, Body, Result> {
  /** The API key's merchant and environment (absent on public operations). */
  scope: AuthenticatedKey;
  params: Params;
  query: Query;
  body: Body;
  /** Hand this to the service of a write: it commits the idempotent reply with the change. */
  write: WriteContext<Result>;
  requestId: string;
}

export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/**
 * A reply written while it is produced (a customer's export): the status and headers, then the
 * body's text piece by piece. An error after the first piece cuts the connection, so a client
 * never takes a partial body for a whole one.
 */
export interface StreamedReply {
  status: number;
  headers?: Record<string, string>;
  chunks: AsyncIterable<string>;
  /** Frees what the chunks hold (a database snapshot) when they are not read to the end. */
  close?(): Promise<void>;
}

export interface Operation<
  Deps = never,
  ParamsSchema extends z.ZodType | undefined = z.ZodType | undefined,
  QuerySchema extends z.ZodType | undefined = z.ZodType | undefined,
  BodySchema extends z.ZodType | undefined = z.ZodType | undefined,
  Out extends Responses = Responses,
  Result = unknown,
> {
  method: HttpMethod;
  /** OpenAPI notation: `/v1/customers/{id}`. */
  path: string;
  tag: string;
  summary: string;
  description?: string;
  params?: ParamsSchema;
  query?: QuerySchema;
  body?: BodySchema;
  bodyExample?: unknown;
  responses: Out;
  errors?: DeclaredErrorStatus[];
  /** No API key: health probes. */
  public?: boolean;
  /** The reply carries a secret (shown once): the copy stored for Idempotency-Key replays is encrypted. */
  secretReply?: boolean;
  handle(
    deps: Deps,
    input: OperationInput<Parsed<ParamsSchema>, Parsed<QuerySchema>, Parsed<BodySchema>, Result>,
  ): Promise<Result>;
  /** How a result is answered; default: the operation's only 2xx status, the result as body. */
  reply?(result: Result): Reply;
  /**
   * The result is streamed instead (the documented response schema describes the whole body). A
   * streamed body is not stored for Idempotency-Key replays: the key is released before the
   * first byte, so a retry with it runs the (read-only) operation again.
   */
  stream?(result: Result): StreamedReply;
}

/**
 * `const op = operationsFor<{ customers: CustomerService }>()` gives a resource a helper that infers
 * each operation's parameter, body and result types from its schemas, against the dependencies
 * the resource's handlers need (and nothing else of the composition root).
 */
export function operationsFor<Deps>() {
  return <
    ParamsSchema extends z.ZodType | undefined = undefined,
    QuerySchema extends z.ZodType | undefined = undefined,
    BodySchema extends z.ZodType | undefined = undefined,
    Out extends Responses = Responses,
    Result = unknown,
  >(
    operation: Operation<Deps, ParamsSchema, QuerySchema, BodySchema, Out, Result>,
  ) => operation;
}

// `any`: the widest operation, so lists can hold differently typed operations.
export type AnyOperation = Operation<any, any, any, any, any, any>;
export type OperationList = Record<string, AnyOperation>;

type UnionToIntersection<U> = (U extends unknown ? (arg: U) => void : never) extends (arg: infer I) => void ? I : never;
/** Everything the handlers of a list of operations need, together. */
export type DepsOf<Ops extends OperationList> = UnionToIntersection<
  { [K in keyof Ops]: Ops[K] extends Operation<infer Deps, any, any, any, any, any> ? Deps : never }[keyof Ops]
>;

/** The 2xx statuses of an operation's responses. */
export function successStatuses(operation: AnyOperation): number[] {
  return Object.keys(operation.responses)
    .map(Number)
    .filter((status) => status >= 200 && status < 300);
}

export function defaultReply(operation: AnyOperation, result: unknown): Reply {
  if (operation.reply) return operation.reply(result);
  const [status] = successStatuses(operation);
  return { status: status ?? 200, body: result };
}
