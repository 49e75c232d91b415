import { z } from 'zod';
import { ValidationError } from './errors.js';
import { idSchema, type IdKind } from './ids.js';

export const MAX_LIMIT = 1000;

/** `limit`, `offset` and a `starting_after` cursor shaped as an id of the listed kind. */
export function paginationQuery(kind: IdKind) {
  return z.strictObject({
    limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(100),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
    starting_after: idSchema(
      kind,
      'An object id from a previous page: the list continues after it (newest first). It must be an object of this ' +
        'list (matching its filters); another id is refused with 400, naming `starting_after`.',
    ).optional(),
  });
}
export type PaginationQuery = z.infer<ReturnType<typeof paginationQuery>>;

export const ListEnvelope = <T extends z.ZodType>(item: T) =>
  z.object({
    object: z.literal('list'),
    data: z.array(item),
    total: z.number().int().meta({ description: 'Objects matching the filters, across all pages.' }),
    has_more: z.boolean(),
  });

export interface Page<T> {
  object: 'list';
  data: T[];
  total: number;
  has_more: boolean;
}

/** The slice of a Prisma model delegate that listing needs. */
export interface ListableModel<Where, Row> {
  count(args: { where: Where }): PromiseLike<number>;
  findMany(args: { where: Where; orderBy: { id: 'desc' }; skip: number; take: number }): PromiseLike<Row[]>;
}

/**
 * One page of `where`, newest first by id (ids are time-ordered). `starting_after` continues below
 * an id that must itself match `where`; `offset` then skips within what follows.
 */
export async function paginate<Where extends object, Row extends { id: string }, Out>(
  model: ListableModel<Where, Row>,
  where: Where,
  query: PaginationQuery,
  serialize: (row: Row) => Out,
  /** The number of objects matching `where`, when something cheaper than counting them knows it. */
  total: () => PromiseLike<number> = () => model.count({ where }),
): Promise<Page<Out>> {
  // Every Prisma WhereInput accepts AND and an id filter.
  const and = (extra: object) => ({ AND: [where, extra] }) as unknown as Where;
  if (query.starting_after !== undefined) {
    const cursorMatches = (await model.count({ where: and({ id: query.starting_after }) })) > 0;
    if (!cursorMatches) throw ValidationError.field('starting_after', `No such object: '${query.starting_after}'`);
  }
  const [count, rows] = await Promise.all([
    total(),
    model.findMany({
      where: query.starting_after === undefined ? where : and({ id: { lt: query.starting_after } }),
      orderBy: { id: 'desc' },
      skip: query.offset,
      take: query.limit + 1,
    }),
  ]);
  return {
    object: 'list',
    data: rows.slice(0, query.limit).map(serialize),
    total: count,
    has_more: rows.length > query.limit,
  };
}

/**
 * A model delegate listed with extra `findMany` arguments (an `include` of related rows), for
 * `paginate`. `Row` names the rows those arguments produce.
 */
export function listableWith<Where, Row>(
  model: { count(args: { where: Where }): PromiseLike<number>; findMany(args: never): PromiseLike<unknown[]> },
  extra: object,
): ListableModel<Where, Row> {
  const findMany = model.findMany.bind(model) as (args: object) => PromiseLike<Row[]>;
  return {
    count: (args) => model.count(args),
    findMany: (args) => findMany({ ...args, ...extra }),
  };
}
