import type { z } from 'zod';
import { WRITE_METHODS, type AnyOperation } from '../http/operation.js';
import { OPERATIONS, type Operations } from '../operations.js';
import { ApiRequestError } from './errors.js';

// A typed client derived from the operations the API serves (src/operations.ts): one method per
// operation, named by its operationId, typed by its schemas. A new endpoint appears here without
// an edit. Requests go through the global fetch (or the one passed in).

export { ApiRequestError } from './errors.js';

type Input<S> = S extends z.ZodType ? z.input<S> : never;
type SuccessStatus = 200 | 201 | 202 | 204;
type ResultOf<R> = {
  [S in keyof R]: S extends SuccessStatus ? (R[S] extends { schema: infer Z extends z.ZodType } ? z.output<Z> : never) : never;
}[keyof R];

/** Query values as they travel: a Date becomes an ISO 8601 timestamp, arrays repeat the parameter. */
type QueryValues<Q> = { [K in keyof Q]?: Q[K] extends readonly unknown[] ? Q[K] : Q[K] | Date };

/** The schema an operation declares in a slot, or undefined when it declares none. */
type Declared<S> = [NonNullable<S>] extends [never] ? undefined : NonNullable<S>;

export type CallInput<Op extends AnyOperation> = (Declared<Op['params']> extends z.ZodType
  ? { params: Input<Declared<Op['params']>> }
  : { params?: never }) &
  (Declared<Op['query']> extends z.ZodType ? { query?: QueryValues<Input<Declared<Op['query']>>> } : { query?: never }) &
  (Declared<Op['body']> extends z.ZodType ? { body: Input<Declared<Op['body']>> } : { body?: never }) & {
    /** Writes carry a random key unless given: reuse one key to retry the same write safely. */
    idempotencyKey?: string;
  };

export type CallResult<Op extends AnyOperation> = ResultOf<Op['responses']>;

type OperationId = keyof Operations;
export type Client = {
  [K in OperationId]: (...args: {} extends CallInput<Operations[K]> ? [input?: CallInput<Operations[K]>] : [input: CallInput<Operations[K]>]) => Promise<CallResult<Operations[K]>>;
};

export interface ClientOptions {
  /** A secret key, `sk_sandbox_...` or `sk_live_...`. */
  apiKey: string;
  /** Where the API answers, e.g. `https://api.example.com`; the operations' paths are appended. */
  baseUrl: string;
  fetch?: typeof fetch;
}

function queryString(query: Record<string, unknown> | undefined): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== undefined) search.append(name, item instanceof Date ? item.toISOString() : String(item));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

export function createClient({ apiKey, baseUrl, fetch: fetchImpl = globalThis.fetch }: ClientOptions): Client {
  const base = baseUrl.replace(/\/+$/, '');

  /** Throws ApiRequestError on any non-2xx answer. Writes always carry an Idempotency-Key. */
  const call = async (operationId: string, operation: AnyOperation, input: CallInput<AnyOperation> = {}) => {
    const params = (input.params ?? {}) as Record<string, string>;
    const path = operation.path.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = params[name];
      if (value === undefined) throw new TypeError(`${operationId}: missing path parameter '${name}'`);
      return encodeURIComponent(value);
    });
    const headers: Record<string, string> = { authorization: `Bearer ${apiKey}`, accept: 'application/json' };
    if (WRITE_METHODS.has(operation.method)) headers['idempotency-key'] = input.idempotencyKey ?? crypto.randomUUID();
    if (input.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetchImpl(`${base}${path}${queryString(input.query as Record<string, unknown> | undefined)}`, {
      method: operation.method.toUpperCase(),
      headers,
      body: input.body === undefined ? undefined : JSON.stringify(input.body),
    });
    if (!response.ok) throw await ApiRequestError.fromResponse(response);
    return response.status === 204 ? undefined : await response.json();
  };

  return Object.fromEntries(
    (Object.entries(OPERATIONS) as [string, AnyOperation][]).map(([operationId, operation]) => [
      operationId,
      (input?: CallInput<AnyOperation>) => call(operationId, operation, input),
    ]),
  ) as Client;
}
