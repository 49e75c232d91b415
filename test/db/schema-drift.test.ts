import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import pg from 'pg';
import wasm from '@prisma/prisma-schema-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { MIGRATIONS_DIR, migrate } from '../../src/migrate.js';
import { testConfig } from '../support/harness.js';

// Indexes that exist only in migration SQL because Prisma's schema language cannot express them
// (partial and expression indexes). Each must be listed here on purpose.
const SQL_ONLY_INDEXES = new Set([
  'customers_live_external_key',
  'customers_live_email_key',
  'events_undispatched_idx',
  'webhook_deliveries_due_idx',
  'wallets_one_active_per_currency_key',
  'sequence_enrollments_one_live_key',
  'sequence_enrollments_pending_idx',
  'messages_queue_idx',
  'payments_paid_by_customer_idx',
  'events_parked_idx',
  'events_retention_idx',
  'webhook_deliveries_retention_idx',
  'webhook_deliveries_last_success_idx',
  'messages_retention_idx',
]);
// Foreign keys Prisma's schema language cannot express: a composite key whose relation is
// optional (payments may have no customer) while another of its columns is required.
const SQL_ONLY_FOREIGN_KEYS = new Set([
  'payments(customer_id,merchant_id,environment) -> customers(id,merchant_id,environment)',
  'messages(customer_id,merchant_id,environment) -> customers(id,merchant_id,environment)',
]);

interface Column {
  type: string;
  nullable: boolean;
}
interface Index {
  table: string;
  columns: string[];
  unique: boolean;
}
interface SchemaShape {
  tables: Record<string, Record<string, Column>>;
  enums: Record<string, string[]>;
  indexes: Index[];
  foreignKeys: string[];
}

interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: 'scalar' | 'enum' | 'object';
  type: string;
  isList: boolean;
  isRequired: boolean;
  nativeType?: [string, string[]] | null;
  relationFromFields?: string[];
  relationToFields?: string[];
}
interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
}
interface DmmfIndex {
  model: string;
  type: 'id' | 'unique' | 'normal' | 'fulltext';
  fields: { name: string }[];
}

const SCALAR_TYPES: Record<string, string> = {
  String: 'text',
  Int: 'integer',
  BigInt: 'bigint',
  Boolean: 'boolean',
  DateTime: 'timestamp(3)',
  Json: 'jsonb',
  Float: 'double precision',
  Decimal: 'numeric(65,30)',
};
const NATIVE_TYPES: Record<string, (args: string[]) => string> = {
  Char: ([n]) => `char(${n})`,
  VarChar: ([n]) => `varchar(${n})`,
  Timestamptz: ([p]) => `timestamptz(${p ?? 6})`,
  Text: () => 'text',
};

/** What schema.prisma says the database must look like, in the same terms as `actualShape`. */
export function expectedShape(schema: string): SchemaShape {
  const dmmf = JSON.parse(wasm.get_dmmf(JSON.stringify({ prismaSchema: [['schema.prisma', schema]] }))).datamodel as {
    models: DmmfModel[];
    enums: { name: string; values: { name: string }[] }[];
    indexes: DmmfIndex[];
  };
  const tableOf = new Map(dmmf.models.map((model) => [model.name, model.dbName ?? model.name]));
  const columnOf = (model: DmmfModel, field: string) => {
    const found = model.fields.find((f) => f.name === field)!;
    return found.dbName ?? found.name;
  };
  const shape: SchemaShape = { tables: {}, enums: {}, indexes: [], foreignKeys: [] };
  for (const model of dmmf.models) {
    const table = tableOf.get(model.name)!;
    shape.tables[table] = {};
    for (const field of model.fields) {
      if (field.kind === 'object') {
        if (field.relationFromFields?.length) {
          const target = dmmf.models.find((m) => m.name === field.type)!;
          shape.foreignKeys.push(
            `${table}(${field.relationFromFields.map((f) => columnOf(model, f)).join(',')}) -> ${tableOf.get(field.type)}(${field.relationToFields!.map((f) => columnOf(target, f)).join(',')})`,
          );
        }
        continue;
      }
      const base =
        field.kind === 'enum'
          ? field.type
          : field.nativeType
            ? NATIVE_TYPES[field.nativeType[0]]!(field.nativeType[1])
            : SCALAR_TYPES[field.type]!;
      // Prisma creates scalar lists as nullable arrays.
      shape.tables[table][field.dbName ?? field.name] = {
        type: field.isList ? `${base}[]` : base,
        nullable: field.isList || !field.isRequired,
      };
    }
  }
  for (const enumDef of dmmf.enums) shape.enums[enumDef.name] = enumDef.values.map((v) => v.name);
  for (const index of dmmf.indexes) {
    const model = dmmf.models.find((m) => m.name === index.model)!;
    shape.indexes.push({
      table: tableOf.get(index.model)!,
      columns: index.fields.map((f) => columnOf(model, f.name)),
      unique: index.type !== 'normal',
    });
  }
  return normalise(shape);
}

/** What the migrated database looks like, read from the catalogue. */
async function actualShape(client: pg.Client): Promise<SchemaShape> {
  const shape: SchemaShape = { tables: {}, enums: {}, indexes: [], foreignKeys: [] };
  const columns = await client.query<{ table_name: string; column_name: string; type: string; nullable: boolean }>(`
    SELECT c.relname AS table_name, a.attname AS column_name,
           format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid AND c.relkind = 'r'
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
    WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relname <> '_prisma_migrations'`);
  for (const row of columns.rows) {
    shape.tables[row.table_name] ??= {};
    shape.tables[row.table_name]![row.column_name] = { type: normaliseType(row.type), nullable: row.nullable };
  }
  const enums = await client.query<{ name: string; values: string[] }>(`
    SELECT t.typname AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS values
    FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname`);
  for (const row of enums.rows) shape.enums[row.name] = row.values;
  const indexes = await client.query<{ name: string; table: string; columns: string[]; unique: boolean }>(`
    SELECT i.relname AS name, t.relname AS table, ix.indisunique AS unique,
           array_agg(coalesce(a.attname::text, '<expression>') ORDER BY k.ord) AS columns
    FROM pg_index ix
    JOIN pg_class i ON i.oid = ix.indexrelid
    JOIN pg_class t ON t.oid = ix.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
    CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
    LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
    WHERE t.relname <> '_prisma_migrations'
    GROUP BY i.relname, t.relname, ix.indisunique`);
  for (const row of indexes.rows) {
    if (!SQL_ONLY_INDEXES.has(row.name)) shape.indexes.push({ table: row.table, columns: row.columns, unique: row.unique });
  }
  const foreignKeys = await client.query<{ fk: string }>(`
    SELECT format('%s(%s) -> %s(%s)', src.relname,
             (SELECT string_agg(attname, ',' ORDER BY array_position(con.conkey, attnum)) FROM pg_attribute WHERE attrelid = con.conrelid AND attnum = ANY (con.conkey)),
             dst.relname,
             (SELECT string_agg(attname, ',' ORDER BY array_position(con.confkey, attnum)) FROM pg_attribute WHERE attrelid = con.confrelid AND attnum = ANY (con.confkey))) AS fk
    FROM pg_constraint con
    JOIN pg_class src ON src.oid = con.conrelid
    JOIN pg_class dst ON dst.oid = con.confrelid
    WHERE con.contype = 'f'`);
  shape.foreignKeys = foreignKeys.rows.map((row) => row.fk).filter((fk) => !SQL_ONLY_FOREIGN_KEYS.has(fk));
  return normalise(shape);
}

function normaliseType(type: string): string {
  return type
    .replace(/^timestamp\((\d)\) with time zone/, 'timestamptz($1)')
    .replace(/^timestamp\((\d)\) without time zone/, 'timestamp($1)')
    .replace(/^character varying/, 'varchar')
    .replace(/^character\((\d+)\)/, 'char($1)')
    .replace(/^"(.*)"$/, '$1');
}

function normalise(shape: SchemaShape): SchemaShape {
  return {
    ...shape,
    indexes: [...shape.indexes].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    foreignKeys: [...shape.foreignKeys].sort(),
  };
}

describe('migrations', () => {
  let client: pg.Client;
  let schema: string;

  beforeAll(async () => {
    client = new pg.Client({ connectionString: testConfig().DATABASE_URL });
    await client.connect();
    schema = await readFile(new URL('../../prisma/schema.prisma', import.meta.url), 'utf8');
  });
  afterAll(async () => {
    await client.end();
  });

  it('leaves the database exactly as schema.prisma describes it', async () => {
    expect(await actualShape(client)).toEqual(expectedShape(schema));
  });

  it('notices drift: a column missing from the schema is reported', async () => {
    const drifted = schema.replace(/^\s+taxId\s+String\?.*$/m, '');
    expect(await actualShape(client)).not.toEqual(expectedShape(drifted));
  });

  it('records every migration as prisma migrate deploy does, and a second run applies nothing', async () => {
    const names = (await readdir(MIGRATIONS_DIR, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    const { rows } = await client.query<{ migration_name: string; checksum: string; finished_at: Date | null; applied_steps_count: number }>(
      'SELECT migration_name, checksum, finished_at, applied_steps_count FROM _prisma_migrations ORDER BY migration_name',
    );
    expect(rows.map((row) => row.migration_name)).toEqual(names);
    for (const row of rows) {
      const sql = await readFile(`${MIGRATIONS_DIR}/${row.migration_name}/migration.sql`);
      expect(row.checksum).toBe(createHash('sha256').update(sql).digest('hex'));
      expect(row.finished_at).not.toBeNull();
      expect(row.applied_steps_count).toBe(1);
    }
    expect(await migrate(testConfig().DATABASE_URL, createLogger('silent', 'test'))).toEqual([]);
  });

  it('keeps (external_source, external_id) and email unique only among live customers', async () => {
    const { rows } = await client.query<{ indexdef: string }>(
      `SELECT indexdef FROM pg_indexes WHERE indexname IN ('customers_live_external_key', 'customers_live_email_key') ORDER BY indexname`,
    );
    expect(rows.map((row) => row.indexdef)).toEqual([
      expect.stringMatching(/UNIQUE INDEX .* \(merchant_id, environment, lower\(email\)\) WHERE \(\(deleted_at IS NULL\) AND \(email IS NOT NULL\)\)/),
      expect.stringMatching(
        /UNIQUE INDEX .* \(merchant_id, environment, external_source, external_id\) NULLS NOT DISTINCT WHERE \(\(deleted_at IS NULL\) AND \(external_id IS NOT NULL\)\)/,
      ),
    ]);
  });

  it('keeps the composite foreign key of payments to their tenant\'s customer', async () => {
    const { rows } = await client.query<{ def: string }>(
      `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conname = 'payments_customer_scope_fkey'`,
    );
    expect(rows.map((row) => row.def)).toEqual([
      'FOREIGN KEY (customer_id, merchant_id, environment) REFERENCES customers(id, merchant_id, environment) ON UPDATE CASCADE ON DELETE RESTRICT',
    ]);
  });
});
