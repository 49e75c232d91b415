import type { z } from 'zod';
import type {
  AddTagsBody,
  CreateCustomerBody,
  CustomerList as CustomerListSchema,
  CustomerObject,
  GetCustomerQuery,
  ListCustomersQuery,
  UpdateCustomerBody,
  UpsertCustomerBody,
  UpsertResult as UpsertResultSchema,
} from '../customers/customer.schemas';
import type { DeletionObject } from '../deletions/deletion.service';
import { ApiRequestError } from './errors';

// A dependency-free client: the service's schemas are imported for their types only, and requests
// go through the global fetch (or the one passed in).

export { ApiRequestError } from './errors';

/** The external source `identify` uses when none is given. */
export const DEFAULT_SOURCE = 'default';

/** Every call of the client, named as in the OpenAPI document (`{name}` is a path parameter). */
export const OPERATIONS = {
  create: { method: 'POST', path: '/v1/customers' },
  list: { method: 'GET', path: '/v1/customers' },
  get: { method: 'GET', path: '/v1/customers/{id}' },
  update: { method: 'PATCH', path: '/v1/customers/{id}' },
  delete: { method: 'DELETE', path: '/v1/customers/{id}' },
  identify: { method: 'PUT', path: '/v1/customers/external/{source}/{external_id}' },
  addTags: { method: 'POST', path: '/v1/customers/{id}/tags' },
  removeTag: { method: 'DELETE', path: '/v1/customers/{id}/tags/{tag}' },
} as const satisfies Record<string, { method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'; path: string }>;
type Operation = keyof typeof OPERATIONS;

export type Customer = CustomerObject;
export type CustomerList = z.infer<typeof CustomerListSchema>;
export type UpsertResult = z.infer<typeof UpsertResultSchema>;
export type CustomerDeletion = DeletionObject;
export type CreateCustomerParams = z.input<typeof CreateCustomerBody>;
export type UpdateCustomerParams = z.input<typeof UpdateCustomerBody>;
/** Upsert by external id: `source` defaults to {@link DEFAULT_SOURCE}. */
export type IdentifyParams = z.input<typeof UpsertCustomerBody> & { external_id: string; source?: string };
/** The list filters; a Date becomes an ISO 8601 timestamp, anything else goes as it is. */
export type ListCustomersParams = { [K in keyof z.input<typeof ListCustomersQuery>]?: string | number | Date };
export type GetCustomerOptions = { expand?: z.input<typeof GetCustomerQuery>['expand'] };
export interface WriteOptions {
  /** Replaces the random key sent by default: reuse one key to retry the same write safely. */
  idempotencyKey?: string;
}

export interface ClientOptions {
  /** A secret key, `sk_sandbox_...` or `sk_live_...`. */
  apiKey: string;
  /** Where the API answers, e.g. `https://api.example.com`; the `/v1` paths are appended. */
  baseUrl: string;
  fetch?: typeof fetch;
}

interface CallOptions {
  params?: Record<string, string>;
  query?: URLSearchParams;
  body?: unknown;
  idempotencyKey?: string;
}

export function createClient({ apiKey, baseUrl, fetch: fetchImpl = globalThis.fetch }: ClientOptions) {
  const base = baseUrl.replace(/\/+$/, '');

  /** Throws ApiRequestError on any non-2xx answer. Writes always carry an Idempotency-Key. */
  async function call<T>(operation: Operation, { params = {}, query, body, idempotencyKey }: CallOptions = {}): Promise<T> {
    const { method, path } = OPERATIONS[operation];
    const resolved = path.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = params[name];
      if (value === undefined) throw new TypeError(`${operation}: missing path parameter '${name}'`);
      return encodeURIComponent(value);
    });
    const search = query?.toString() ? `?${query}` : '';
    const headers: Record<string, string> = { authorization: `Bearer ${apiKey}`, accept: 'application/json' };
    if (method !== 'GET') headers['idempotency-key'] = idempotencyKey ?? crypto.randomUUID();
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetchImpl(`${base}${resolved}${search}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw await ApiRequestError.fromResponse(response);
    return (await response.json()) as T;
  }

  const customers = {
    create: (params: CreateCustomerParams = {}, options: WriteOptions = {}) =>
      call<Customer>('create', { body: params, ...options }),

    /** Creates the customer with this external id, or updates it: `created` tells which. */
    identify: ({ external_id, source = DEFAULT_SOURCE, ...profile }: IdentifyParams, options: WriteOptions = {}) =>
      call<UpsertResult>('identify', { params: { source, external_id }, body: profile, ...options }),

    get: (id: string, { expand }: GetCustomerOptions = {}) => {
      const query = new URLSearchParams();
      for (const field of [expand ?? []].flat()) query.append('expand', field);
      return call<Customer>('get', { params: { id }, query });
    },

    list: (params: ListCustomersParams = {}) => {
      const query = new URLSearchParams();
      for (const [name, value] of Object.entries(params)) {
        if (value !== undefined) query.set(name, value instanceof Date ? value.toISOString() : String(value));
      }
      return call<CustomerList>('list', { query });
    },

    /** Changes only the fields given; null clears a field; metadata is merged key by key. */
    update: (id: string, params: UpdateCustomerParams, options: WriteOptions = {}) =>
      call<Customer>('update', { params: { id }, body: params, ...options }),

    /** Starts the deletion workflow; the answer (202) is the deletion to poll at `status_url`. */
    delete: (id: string, options: WriteOptions = {}) =>
      call<CustomerDeletion>('delete', { params: { id }, ...options }),

    addTags: (id: string, tags: z.input<typeof AddTagsBody>['tags'], options: WriteOptions = {}) =>
      call<Customer>('addTags', { params: { id }, body: { tags }, ...options }),

    removeTag: (id: string, tag: string, options: WriteOptions = {}) =>
      call<Customer>('removeTag', { params: { id, tag }, ...options }),
  };

  return { customers };
}

export type Client = ReturnType<typeof createClient>;
