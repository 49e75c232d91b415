import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/lib/paths.js';
import {
  ComposeError,
  interpolate,
  loadCompose,
  parseDotEnv,
  rawCompose,
  referencedVariables,
  serviceEnvironment,
  type ComposeFile,
  type ComposeService,
} from '../support/compose.js';

// compose-spec.schema.json is github.com/compose-spec/compose-spec schema/compose-spec.json (master),
// copied verbatim from the copy check-jsonschema 0.39.0 (PyPI) vendors. It declares JSON Schema draft
// 2020-12, hence Ajv2020: a draft-07 validator ignores `unevaluatedProperties`, the keyword that
// rejects unknown service keys. Refresh it from upstream; never edit it by hand.
const schema: unknown = JSON.parse(readFileSync(new URL('./compose-spec.schema.json', import.meta.url), 'utf8'));

const compose = rawCompose();
// Placeholders for the variables the file requires (docs/deploy.md has the user write them to .env).
const loaded = loadCompose({
  shell: { SECRETS_ENCRYPTION_KEYS: 'k1:placeholder', POSTGRES_PASSWORD: 'placeholder', PUBLIC_BASE_URL: 'http://localhost:3000' },
});

// The schema declares no `format` keywords, so ajv-formats would add nothing. strictTypes is off
// because upstream leaves `type: object` implicit beside object keywords; that is its style, not a
// fault of the file under test.
const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true, strictTypes: false });
const validate = ajv.compile(schema as object);

function service(name: string): ComposeService {
  const found = loaded.compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
}

const environmentOf = (name: string) => serviceEnvironment(loaded, name);

function commandOf(name: string): string {
  const command = service(name).command ?? '';
  return Array.isArray(command) ? command.join(' ') : command;
}

function publishedPorts(name: string): { published: string; target: string }[] {
  return (service(name).ports ?? []).map((port) => {
    if (typeof port === 'object') return { published: String(port.published ?? ''), target: String(port.target) };
    const parts = String(port).replace(/\/\w+$/, '').split(':');
    return { published: parts.at(-2) ?? '', target: parts.at(-1) ?? '' };
  });
}

function dependenciesOf(name: string): Record<string, string> {
  const dependsOn = service(name).depends_on ?? {};
  return Array.isArray(dependsOn)
    ? Object.fromEntries(dependsOn.map((dependency) => [dependency, 'service_started']))
    : Object.fromEntries(Object.entries(dependsOn).map(([dependency, { condition }]) => [dependency, condition]));
}

describe('docker-compose.yml', () => {
  it('conforms to the Compose Specification', () => {
    const valid = validate(compose);
    expect(valid, ajv.errorsText(validate.errors, { separator: '\n' })).toBe(true);
  });

  it.each([
    {
      change: 'a misspelt service key',
      mutate: (copy: ComposeFile) => Object.assign(copy.services.api!, { restart_policy: 'always' }),
      error: { instancePath: '/services/api', keyword: 'unevaluatedProperties' },
    },
    {
      change: 'an unknown depends_on condition',
      mutate: (copy: ComposeFile) => {
        copy.services.api!.depends_on = { migrate: { condition: 'service_completed' } };
      },
      error: { instancePath: '/services/api/depends_on/migrate/condition', keyword: 'enum' },
    },
  ])('is rejected by the validator once it has $change', ({ mutate, error }) => {
    const copy = structuredClone(compose);
    mutate(copy);
    expect(validate(copy)).toBe(false);
    expect(validate.errors).toContainEqual(expect.objectContaining(error));
  });

  it('builds every application service from one context into one image', () => {
    const built = Object.values(compose.services).filter((candidate) => candidate.build !== undefined);
    expect(built).toHaveLength(3);
    const contexts = built.map(({ build }) => (typeof build === 'string' ? build : (build?.context ?? '.')));
    expect(new Set(contexts).size).toBe(1);
    expect(new Set(built.map(({ image }) => image)).size).toBe(1);
  });

  it.each(['api', 'worker'])('points %s at the database, Temporal and SMTP services of this file', (name) => {
    const environment = environmentOf(name);
    const hosts = [
      new URL(environment.DATABASE_URL ?? '').hostname,
      environment.TEMPORAL_ADDRESS?.split(':')[0],
      new URL(environment.SMTP_URL ?? '').hostname,
    ];
    expect(hosts).toEqual(['postgres', 'temporal', 'maildev']);
    for (const host of hosts) service(host ?? '');
  });

  it.each(['api', 'worker'])('starts %s only after migrations, a healthy Temporal and its setup', (name) => {
    expect(dependenciesOf(name)).toMatchObject({
      migrate: 'service_completed_successfully',
      temporal: 'service_healthy',
      'temporal-setup': 'service_completed_successfully',
    });
  });

  it('registers the namespace and the search attributes the application uses', () => {
    const command = commandOf('temporal-setup');
    const namespace = environmentOf('api').TEMPORAL_NAMESPACE;
    expect(command).toContain(`namespace create --address "$TEMPORAL_ADDRESS" -n "${namespace}"`);
    expect(command).toContain(`search-attribute create --address "$TEMPORAL_ADDRESS" -n "${namespace}"`);
    expect(command).toMatch(/--name CustomerId --type Keyword\b/);
    expect(command).toMatch(/--name MerchantId --type Keyword\b/);
  });

  it('publishes the Temporal UI on host port 8233', () => {
    expect(publishedPorts('temporal-ui')).toContainEqual({ published: '8233', target: '8080' });
  });

  it('has every variable it reads documented in .env.example', () => {
    const example = readFileSync(join(PROJECT_ROOT, '.env.example'), 'utf8');
    const documented = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((match) => match[1]));
    const read = referencedVariables();
    expect(read).toEqual(expect.arrayContaining(['SECRETS_ENCRYPTION_KEYS', 'POSTGRES_PASSWORD', 'PUBLIC_BASE_URL']));
    expect(read.filter((name) => !documented.has(name))).toEqual([]);
  });

  it('waits only on services that exist and on health checks that are defined', () => {
    for (const name of Object.keys(compose.services)) {
      for (const [dependency, condition] of Object.entries(dependenciesOf(name))) {
        const target = service(dependency);
        if (condition === 'service_healthy') expect(target.healthcheck, `${name} -> ${dependency}`).toBeDefined();
      }
    }
  });
});

describe('Compose interpolation, as the tests read docker-compose.yml', () => {
  const variables = { SET: 'value', EMPTY: '', OTHER: 'other' };

  it.each([
    ['${SET} and $SET', 'value and value'],
    ['${UNSET}|$UNSET|${EMPTY}', '||'],
    ['${UNSET:-fallback} ${EMPTY:-fallback} ${SET:-fallback}', 'fallback fallback value'],
    ['${UNSET-fallback} ${EMPTY-fallback} ${SET-fallback}', 'fallback  value'],
    ['${UNSET:+alt}|${EMPTY:+alt}|${SET:+alt}|${EMPTY+alt}', '||alt|alt'],
    ['${EMPTY?unused}|${SET:?unused}', '|value'],
    ['${UNSET:-${OTHER}} ${UNSET:-${ALSO_UNSET:-deep}} ${UNSET:-a:b/c}', 'other deep a:b/c'],
    ['$$SET $${SET} cost: 5$ $1 $-', '$SET ${SET} cost: 5$ $1 $-'],
    ['postgresql://${U:-postgres}:${SET:?x}@postgres:5432/${DB:-db}', 'postgresql://postgres:value@postgres:5432/db'],
  ])('%s', (template, expected) => {
    expect(interpolate(template, variables)).toBe(expected);
  });

  it.each([
    ['${UNSET:?put it in .env}', 'required variable UNSET is missing a value: put it in .env'],
    ['${EMPTY:?needed}', 'required variable EMPTY is missing a value: needed'],
    ['${UNSET?needed, see $OTHER}', 'required variable UNSET is missing a value: needed, see other'],
    ['${UNSET:?}', 'required variable UNSET is missing a value'],
    ['${UNSET:-${NESTED:?inner}}', 'required variable NESTED is missing a value: inner'],
    ['${9LIVES}', 'Invalid template'],
    ['${SET', 'Invalid template'],
  ])('refuses %s', (template, message) => {
    expect(() => interpolate(template, variables)).toThrow(ComposeError);
    expect(() => interpolate(template, variables)).toThrow(message);
  });

  it('reads a .env file: comments, export, quotes, inline comments, earlier variables', () => {
    const text = [
      '# a comment',
      '',
      'A=plain value # a comment',
      'export B="quoted # kept\\n${A}"',
      "C='single ${A} $$ kept'",
      'D=${A}-${FROM_SHELL}',
      'E=',
      'F=with=equals',
    ].join('\n');
    expect(parseDotEnv(text, { FROM_SHELL: 'shell' })).toEqual({
      A: 'plain value',
      B: 'quoted # kept\nplain value',
      C: 'single ${A} $$ kept',
      D: 'plain value-shell',
      E: '',
      F: 'with=equals',
    });
  });

  it('lets the shell win over the .env file, and refuses the file without what it requires', () => {
    const envFile = join(mkdtempSync(join(tmpdir(), 'compose-env-')), '.env');
    writeFileSync(envFile, 'SECRETS_ENCRYPTION_KEYS=k1:file\nPOSTGRES_PASSWORD=from-file\nPUBLIC_BASE_URL=http://file.test\n');
    const fromBoth = loadCompose({ envFile, shell: { PUBLIC_BASE_URL: 'http://shell.test' } });
    expect(serviceEnvironment(fromBoth, 'api')).toMatchObject({
      PUBLIC_BASE_URL: 'http://shell.test',
      DATABASE_URL: 'postgresql://postgres:from-file@postgres:5432/customer_lifecycle',
    });
    expect(() => loadCompose({ shell: {} })).toThrow(/required variable \w+ is missing a value: put \w+ in \.env/);
  });
});
