import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/lib/paths.js';

// The layering rules of STYLE.md and the architecture issue, checked on the import graph so that
// a new file that breaks them fails here rather than in review.

interface Import {
  from: string;
  /** A project file, relative to the root; undefined for a package. */
  target?: string;
  specifier: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(PROJECT_ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'generated' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function importsOf(file: string): Import[] {
  const source = ts.createSourceFile(file, readFileSync(join(PROJECT_ROOT, file), 'utf8'), ts.ScriptTarget.Latest);
  const found: Import[] = [];
  for (const statement of source.statements) {
    let specifier: string | undefined;
    let typeOnly = false;
    if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
      specifier = statement.moduleSpecifier.text;
      const clause = statement.importClause;
      const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings.elements : undefined;
      typeOnly = !!clause && (clause.isTypeOnly || (!clause.name && !!named && named.length > 0 && named.every((e) => e.isTypeOnly)));
    } else if (ts.isExportDeclaration(statement) && statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)) {
      specifier = statement.moduleSpecifier.text;
      typeOnly = statement.isTypeOnly;
    }
    if (!specifier) continue;
    const target = specifier.startsWith('.')
      ? relative(PROJECT_ROOT, resolve(PROJECT_ROOT, dirname(file), specifier)).replace(/\.js$/, '.ts')
      : undefined;
    found.push({ from: file, target, specifier, typeOnly });
  }
  return found;
}

const files = ['src', 'workflows', 'activities'].flatMap(sourceFiles);
const imports = files.flatMap(importsOf);

/** Cycles in the graph of runtime imports (type-only imports vanish at run time). */
function cycles(): string[][] {
  const edges = new Map<string, string[]>();
  for (const edge of imports) {
    if (edge.target && !edge.typeOnly) edges.set(edge.from, [...(edges.get(edge.from) ?? []), edge.target]);
  }
  const found: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'visiting');
    stack.push(file);
    for (const next of edges.get(file) ?? []) {
      if (state.get(next) === 'visiting') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of files) if (!state.has(file)) visit(file);
  return found;
}


const sourceOf = (file: string) => readFileSync(join(PROJECT_ROOT, file), 'utf8');

/** Prisma's model delegates (`db.customer`) and the tables they map to (`customers`). */
const models = new Map(
  [...readFileSync(join(PROJECT_ROOT, 'prisma/schema.prisma'), 'utf8').matchAll(/^model (\w+) \{[\s\S]*?@@map\("(\w+)"\)/gm)].map(([, model, table]) => [
    model!.charAt(0).toLowerCase() + model!.slice(1),
    table!,
  ]),
);
const PRISMA_WRITES = new Set(['create', 'createMany', 'createManyAndReturn', 'update', 'updateMany', 'updateManyAndReturn', 'upsert', 'delete', 'deleteMany']);
const PRISMA_READS = new Set(['findFirst', 'findFirstOrThrow', 'findUnique', 'findUniqueOrThrow', 'findMany', 'count', 'aggregate', 'groupBy']);
const RAW = new Set(['$queryRaw', '$executeRaw', '$queryRawUnsafe', '$executeRawUnsafe']);
/** Words that follow UPDATE in SQL without naming a table (`DO UPDATE SET`, `FOR UPDATE SKIP LOCKED`). */
const NOT_TABLES = new Set(['set', 'skip', 'of', 'nowait']);

/** Where the database is touched, and which tables each file writes. */
interface DatabaseUse {
  file: string;
  /** `db.customer.findMany`, `$queryRaw`, `pool.query`: what the file calls on the database client. */
  calls: string[];
  writes: string[];
}

function databaseUse(file: string): DatabaseUse {
  const text = sourceOf(file);
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const calls: string[] = [];
  const writes = new Set<string>();
  const visit = (node: ts.Node) => {
    if (ts.isPropertyAccessExpression(node)) {
      const name = node.name.text;
      if (RAW.has(name)) calls.push(name);
      if (ts.isPropertyAccessExpression(node.expression) && models.has(node.expression.name.text) && (PRISMA_WRITES.has(name) || PRISMA_READS.has(name))) {
        calls.push(`${node.expression.name.text}.${name}`);
        if (PRISMA_WRITES.has(name)) writes.add(models.get(node.expression.name.text)!);
      }
      const receiver = node.expression.getText(source);
      if (name === 'query' && (/pool/i.test(receiver) || /\bclient$/.test(receiver))) calls.push(`${receiver}.query`);
    }
    if (ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node) || ts.isStringLiteral(node)) {
      for (const [, , table] of node.text.matchAll(/\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?/gi)) {
        if (!NOT_TABLES.has(table!.toLowerCase()) && [...models.values()].includes(table!)) writes.add(table!);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { file, calls, writes: [...writes] };
}

/** The modules that hold SQL: each feature's store, and the outbox (the events table's store). */
const isStore = (file: string) => file.endsWith('.store.ts') || file === 'src/events/outbox.ts';
/** Infrastructure below the features: connecting, migrating, the development stack. */
const isInfrastructure = (file: string) => ['src/db.ts', 'src/migrate.ts'].includes(file) || file.startsWith('src/dev/');
const databaseUses = files.filter((file) => !isInfrastructure(file)).map(databaseUse);

describe('architecture', () => {
  it('finds the files it checks', () => {
    expect(files).toEqual(expect.arrayContaining(['src/services.ts', 'workflows/definitions.ts', 'activities/index.ts']));
    expect(imports.length).toBeGreaterThan(100);
  });

  it('has no import cycle', () => {
    expect(cycles()).toEqual([]);
  });

  it('keeps workflow code free of I/O: Temporal workflow APIs, other workflow files and activity types only', () => {
    const offending = imports.filter(
      (edge) =>
        edge.from.startsWith('workflows/') &&
        !(edge.target?.startsWith('workflows/') || ['@temporalio/workflow', '@temporalio/common'].includes(edge.specifier)) &&
        !(edge.typeOnly && edge.target?.startsWith('activities/')),
    );
    expect(offending).toEqual([]);
  });

  it("keeps domain code out of src/http/: only a resource's routes declare operations with it", () => {
    const domain = (file: string) =>
      file.startsWith('src/') &&
      !file.startsWith('src/http/') &&
      !['src/dev/', 'src/sdk/', 'src/openapi/', 'src/cli/'].some((dir) => file.startsWith(dir)) &&
      !['src/runtime.ts', 'src/main.ts', 'src/operations.ts', 'src/services.ts'].includes(file);
    const offending = imports.filter(
      (edge) =>
        (domain(edge.from) || edge.from.startsWith('activities/')) &&
        edge.target?.startsWith('src/http/') &&
        !(edge.from.endsWith('.routes.ts') && edge.target === 'src/http/operation.ts'),
    );
    expect(offending).toEqual([]);
  });

  it('makes Temporal failures in activities/, never in services', () => {
    const offending = imports.filter(
      (edge) => edge.from.startsWith('src/') && !edge.from.startsWith('src/dev/') && edge.specifier === '@temporalio/activity',
    );
    expect(offending).toEqual([]);
    const failures = files.filter(
      (file) => file.startsWith('src/') && /\bApplicationFailure\b/.test(readFileSync(join(PROJECT_ROOT, file), 'utf8')),
    );
    expect(failures).toEqual([]);
  });

  it('builds dependencies only in the composition root: no module creates a database or Temporal client of its own', () => {
    const allowed = ['src/db.ts', 'src/runtime.ts', 'src/temporal/temporal.ts', 'src/cli/merchant.ts', 'src/migrate.ts'];
    const constructing = files.filter(
      (file) =>
        !allowed.includes(file) &&
        !file.startsWith('src/dev/') &&
        /\b(createDb\(|new PrismaClient\(|Connection\.connect\(|NativeConnection\.connect\(|new pg\.(Client|Pool)\()/.test(
          readFileSync(join(PROJECT_ROOT, file), 'utf8'),
        ),
    );
    expect(constructing).toEqual([]);
  });

  it('touches the database only in stores: the only modules with SQL (raw or Prisma)', () => {
    const offending = databaseUses.filter((use) => !isStore(use.file) && use.calls.length > 0).map((use) => `${use.file}: ${[...new Set(use.calls)].join(', ')}`);
    expect(offending).toEqual([]);
  });

  it('has one writer per table: each table is inserted, updated and deleted by exactly one store', () => {
    const writers = new Map<string, string[]>();
    for (const use of databaseUses) for (const table of use.writes) writers.set(table, [...(writers.get(table) ?? []), use.file]);
    const shared = [...writers].filter(([, by]) => by.length > 1 || !isStore(by[0]!)).map(([table, by]) => `${table}: ${by.join(', ')}`);
    expect(shared).toEqual([]);
    expect(writers.size).toBeGreaterThan(20);
  });

  it("locks a customer's row only in the customers store", () => {
    const locking = files.filter((file) => /FROM\s+customers\b[^`;]*?\bFOR\s+(UPDATE|SHARE|NO KEY UPDATE|KEY SHARE)\b/i.test(sourceOf(file)));
    expect(locking).toEqual(['src/customers/customer.store.ts']);
  });

  it('imports the bodies of activities (*.steps.ts) only from activities/', () => {
    const offending = imports.filter((edge) => edge.target?.endsWith('.steps.ts') && !edge.from.startsWith('activities/') && !edge.typeOnly);
    expect(offending).toEqual([]);
  });

  it('keeps every file under 400 lines', () => {
    const long = files.map((file) => ({ file, lines: sourceOf(file).split('\n').length })).filter(({ lines }) => lines > 400);
    expect(long).toEqual([]);
  });
});
