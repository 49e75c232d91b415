import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// compose-spec.schema.json is github.com/compose-spec/compose-spec schema/compose-spec.json (master),
// copied verbatim from the copy check-jsonschema 0.39.0 (PyPI) vendors. It declares JSON Schema draft
// 2020-12, hence Ajv2020: a draft-07 validator ignores `unevaluatedProperties`, the keyword that
// rejects unknown service keys. Refresh it from upstream; never edit it by hand.
const schema: unknown = JSON.parse(readFileSync(new URL('./compose-spec.schema.json', import.meta.url), 'utf8'));

type Environment = Record<string, string | number | boolean | null> | string[];
type Port = string | number | { target: string | number; published?: string | number };

interface Service {
  image?: string;
  build?: string | { context?: string };
  command?: string | string[];
  environment?: Environment;
  ports?: Port[];
  depends_on?: string[] | Record<string, { condition: string }>;
  healthcheck?: object;
}

interface ComposeFile {
  services: Record<string, Service>;
}

const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8')) as ComposeFile;

// The schema declares no `format` keywords, so ajv-formats would add nothing. strictTypes is off
// because upstream leaves `type: object` implicit beside object keywords; that is its style, not a
// fault of the file under test.
const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true, strictTypes: false });
const validate = ajv.compile(schema as object);

function service(name: string): Service {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
}

/** Resolves `${VAR:-default}` to its default and `$$` to `$`, as Compose does with VAR unset. */
function interpolate(value: string): string {
  return value.replace(/\$\$|\$\{(\w+)(?::?-([^}]*))?\}/g, (match, _name, fallback: string | undefined) =>
    match === '$$' ? '$' : (fallback ?? ''),
  );
}

function environmentOf(name: string): Record<string, string> {
  const environment = service(name).environment ?? {};
  const entries = Array.isArray(environment)
    ? environment.map((line) => line.split(/=(.*)/s).slice(0, 2))
    : Object.entries(environment).map(([key, value]) => [key, String(value ?? '')]);
  return Object.fromEntries(entries.map(([key, value]) => [key, interpolate(value ?? '')]));
}

function commandOf(name: string): string {
  const command = service(name).command ?? '';
  return interpolate(Array.isArray(command) ? command.join(' ') : command);
}

function publishedPorts(name: string): { published: string; target: string }[] {
  return (service(name).ports ?? []).map((port) => {
    if (typeof port === 'object') return { published: String(port.published ?? ''), target: String(port.target) };
    const parts = interpolate(String(port)).replace(/\/\w+$/, '').split(':');
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

  it('waits only on services that exist and on health checks that are defined', () => {
    for (const name of Object.keys(compose.services)) {
      for (const [dependency, condition] of Object.entries(dependenciesOf(name))) {
        const target = service(dependency);
        if (condition === 'service_healthy') expect(target.healthcheck, `${name} -> ${dependency}`).toBeDefined();
      }
    }
  });
});
