import fc from 'fast-check';

// Values for the schemas of /openapi.json, as a client generated from the document would send
// them: `exampleOf` gives one plausible valid value (examples first), `arbitraryOf` many valid-
// looking ones, `invalidArbitraryOf` the values a careless or hostile client sends. Reading the
// document (not the zod schemas) means every endpoint a resource declares is covered at once.

// JSON off the wire, typed loosely: each function checks the keywords it reads.
type Schema = any;
export type OpenApiDocument = any;

export const WRITE_METHODS = new Set(['post', 'put', 'patch', 'delete']);
export const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

export interface DocumentedOperation {
  method: string;
  path: string;
  operationId: string;
  pathParams: { name: string; schema: Schema }[];
  queryParams: { name: string; schema: Schema; required: boolean }[];
  body?: Schema;
  /** The example body the operation declares, when its schema alone cannot make a valid one. */
  bodyExample?: unknown;
  bodyRequired: boolean;
}

export function resolver(doc: OpenApiDocument) {
  const resolve = (node: Schema): Schema =>
    node?.$ref ? resolve((node.$ref as string).slice(2).split('/').reduce((at: Schema, part: string) => at[part], doc)) : node;
  return resolve;
}

export function documentedOperations(doc: OpenApiDocument): DocumentedOperation[] {
  const resolve = resolver(doc);
  return Object.entries(doc.paths as Record<string, Record<string, Schema>>).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method]).map((method) => {
      const operation = item[method];
      const parameters = (operation.parameters ?? []).map(resolve);
      const content = operation.requestBody?.content?.['application/json'];
      const body = content?.schema;
      return {
        method,
        path,
        operationId: operation.operationId as string,
        pathParams: parameters.filter((p: Schema) => p.in === 'path').map((p: Schema) => ({ name: p.name, schema: resolve(p.schema) })),
        queryParams: parameters
          .filter((p: Schema) => p.in === 'query')
          .map((p: Schema) => ({ name: p.name, schema: resolve(p.schema), required: !!p.required })),
        body: body && resolve(body),
        bodyExample: content?.example,
        bodyRequired: !!operation.requestBody?.required,
      };
    }),
  );
}

/** The id prefix a path parameter's pattern declares (`cus` for `^cus_[0-9A-HJKMNP-TV-Z]{26}$`). */
export function idPrefixOf(schema: Schema): string | undefined {
  return (schema?.pattern as string | undefined)?.match(/^\^([a-z]+)_\[/)?.[1];
}

export function sampleId(prefix: string, random = '01JD3Z6Q4W8V2G7R1M5K9T0XYZ'): string {
  return `${prefix}_${random}`;
}

function branches(schema: Schema): Schema[] {
  return schema.anyOf ?? schema.oneOf ?? [schema];
}

function formatExample(format: string | undefined): string | undefined {
  switch (format) {
    case 'email':
      return 'sample@example.com';
    case 'uri':
      return 'https://hooks.example.com/in';
    case 'date-time':
      return new Date().toISOString();
    case 'date':
      return new Date().toISOString().slice(0, 10);
    default:
      return undefined;
  }
}

/** A body the operation accepts: the example it declares, else one built from its schema. */
export function exampleBody(doc: OpenApiDocument, operation: DocumentedOperation): unknown {
  return operation.bodyExample !== undefined ? structuredClone(operation.bodyExample) : exampleOf(doc, operation.body);
}

/** One plausible valid value: the schema's example where it gives one, the smallest fitting value else. */
export function exampleOf(doc: OpenApiDocument, input: Schema): unknown {
  const resolve = resolver(doc);
  const schema = resolve(input);
  if (!schema || Object.keys(schema).length === 0) return {};
  if (schema.example !== undefined) return schema.example;
  if (schema.examples?.length) return schema.examples[0];
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  if (schema.default !== undefined && schema.type !== 'object') return schema.default;
  const branch = branches(schema).map(resolve).find((b: Schema) => b.type !== 'null') ?? branches(schema)[0];
  if (branch !== schema) return exampleOf(doc, branch);
  switch (schema.type) {
    case 'object': {
      const required = new Set<string>(schema.required ?? []);
      return Object.fromEntries(
        Object.entries((schema.properties ?? {}) as Record<string, Schema>)
          .filter(([name]) => required.has(name))
          .map(([name, property]) => [name, exampleOf(doc, property)]),
      );
    }
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, () => exampleOf(doc, schema.items ?? {}));
    case 'string': {
      const prefix = idPrefixOf(schema);
      if (prefix) return sampleId(prefix);
      return formatExample(schema.format) ?? 'x'.repeat(Math.max(schema.minLength ?? 1, 1));
    }
    case 'integer':
    case 'number':
      return schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 1);
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return {};
  }
}

/** Values that satisfy the document's schema (refinements the document cannot state aside). */
export function arbitraryOf(doc: OpenApiDocument, input: Schema, depth = 0): fc.Arbitrary<unknown> {
  const resolve = resolver(doc);
  const schema = resolve(input);
  if (!schema || Object.keys(schema).length === 0 || depth > 6) return fc.constant(exampleOf(doc, schema ?? {}));
  const example = exampleOf(doc, schema);
  const generated = ((): fc.Arbitrary<unknown> => {
    if (schema.const !== undefined) return fc.constant(schema.const);
    if (schema.enum) return fc.constantFrom(...schema.enum);
    if (schema.anyOf || schema.oneOf) return fc.oneof(...branches(schema).map((branch: Schema) => arbitraryOf(doc, branch, depth + 1)));
    switch (schema.type) {
      case 'object': {
        const properties = (schema.properties ?? {}) as Record<string, Schema>;
        const required = new Set<string>(schema.required ?? []);
        return fc.record(
          Object.fromEntries(Object.entries(properties).map(([name, property]) => [name, arbitraryOf(doc, property, depth + 1)])),
          { requiredKeys: [...required].filter((name) => name in properties) },
        );
      }
      case 'array':
        return fc.array(arbitraryOf(doc, schema.items ?? {}, depth + 1), {
          minLength: schema.minItems ?? 0,
          maxLength: Math.min(schema.maxItems ?? 5, 5),
        });
      case 'string':
        if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern));
        if (schema.format) return fc.constant(formatExample(schema.format) ?? 'x');
        return fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 40, 40) });
      case 'integer':
        return fc.integer({ min: schema.minimum ?? -1000, max: schema.maximum ?? 1_000_000 });
      case 'number':
        return fc.double({ min: schema.minimum ?? -1000, max: schema.maximum ?? 1e6, noNaN: true });
      case 'boolean':
        return fc.boolean();
      case 'null':
        return fc.constant(null);
      default:
        return fc.constant(example);
    }
  })();
  return fc.oneof({ arbitrary: fc.constant(example), weight: 2 }, { arbitrary: generated, weight: 3 });
}

/** What a careless or hostile client sends instead. */
export function invalidArbitraryOf(doc: OpenApiDocument, input: Schema): fc.Arbitrary<unknown> {
  const schema = resolver(doc)(input) ?? {};
  const hostileString = fc.oneof(
    fc.constant('a\u0000b'),
    fc.constant('\ud800'),
    fc.constant('x'.repeat(5_000)),
    fc.constant('\u202e\u0007 ,;'),
    fc.constant("' OR 1=1 --"),
    fc.constant('<script>alert(1)</script>'),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
  );
  const anything: fc.Arbitrary<unknown> = fc.oneof(
    hostileString,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(Number.MAX_SAFE_INTEGER * 4),
    fc.constant(-1),
    fc.array(fc.string(), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
  );
  if (schema.type !== 'object') return anything;
  const properties = Object.keys(schema.properties ?? {});
  return fc.oneof(
    anything,
    // A valid object with one field replaced by something of the wrong shape, or an unknown field.
    fc.tuple(arbitraryOf(doc, schema), properties.length ? fc.constantFrom(...properties) : fc.constant('unknown'), anything).map(
      ([value, field, wrong]) => ({ ...(value as object), [field]: wrong }),
    ),
    fc.tuple(arbitraryOf(doc, schema), fc.string({ minLength: 1, maxLength: 10 })).map(([value, extra]) => ({ ...(value as object), [`x_${extra}`]: 1 })),
  );
}
