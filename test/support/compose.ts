import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../src/lib/paths.js';

// docker-compose.yml as Compose reads it, for tests that check it or run what it runs: values from
// a .env file and the shell, interpolated the way the Compose Specification says
// (https://docs.docker.com/reference/compose-file/interpolation/): $VAR, ${VAR}, ${VAR:-default},
// ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+alternative}, ${VAR+alternative}, nesting
// inside the default, error or alternative, `$$` for a literal `$`, and a `$` that starts no
// variable left as it is.

export type Variables = Record<string, string>;

/** What Compose stops with: a required variable without a value, or a template it cannot read. */
export class ComposeError extends Error {}

const NAME = /^[_a-zA-Z][_a-zA-Z0-9]*/;

/** Index of the `}` closing the `${` whose body starts at `from`, counting nested `${`. */
function closingBrace(text: string, from: number): number {
  let depth = 1;
  for (let i = from; i < text.length; i++) {
    if (text.startsWith('$$', i)) i++;
    else if (text.startsWith('${', i)) {
      depth++;
      i++;
    } else if (text[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

/** One `${...}` body: a name, then nothing or an operator and its (itself interpolated) word. */
function substitute(body: string, variables: Variables, template: string): string {
  const name = NAME.exec(body)?.[0];
  if (!name) throw new ComposeError(`Invalid template: "${template}"`);
  const value = variables[name];
  const rest = body.slice(name.length);
  if (rest === '') return value ?? '';
  const operator = /^(:?[-?+])/.exec(rest)?.[1];
  if (!operator) throw new ComposeError(`Invalid template: "${template}"`);
  const word = () => interpolate(rest.slice(operator.length), variables);
  // `:` makes an empty value count as unset.
  const present = operator.startsWith(':') ? value !== undefined && value !== '' : value !== undefined;
  switch (operator.at(-1)) {
    case '-':
      return present ? value! : word();
    case '+':
      return present ? word() : '';
    default: {
      if (present) return value!;
      const reason = word();
      throw new ComposeError(`required variable ${name} is missing a value${reason ? `: ${reason}` : ''}`);
    }
  }
}

/** A string of the Compose file with its variables replaced. */
export function interpolate(template: string, variables: Variables): string {
  let out = '';
  for (let i = 0; i < template.length; ) {
    if (template[i] !== '$') {
      out += template[i++];
      continue;
    }
    const next = template[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
    } else if (next === '{') {
      const end = closingBrace(template, i + 2);
      if (end < 0) throw new ComposeError(`Invalid template: "${template}"`);
      out += substitute(template.slice(i + 2, end), variables, template);
      i = end + 1;
    } else {
      const name = NAME.exec(template.slice(i + 1))?.[0];
      if (name) {
        out += variables[name] ?? '';
        i += 1 + name.length;
      } else {
        out += '$';
        i += 1;
      }
    }
  }
  return out;
}

/**
 * A .env file as Compose reads it: `KEY=value` lines (optionally `export KEY=value`), `#` comments,
 * single quotes literal, double quotes with \n, \t, \" and \\ escapes; unquoted and double-quoted
 * values are interpolated with the variables known so far, and an unquoted value ends at ` #`.
 */
export function parseDotEnv(text: string, outer: Variables = {}): Variables {
  const parsed: Variables = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim().replace(/^export\s+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([_a-zA-Z][_a-zA-Z0-9.-]*)\s*=\s*(.*)$/.exec(line);
    if (!match) throw new ComposeError(`unexpected line in .env: ${raw}`);
    const [, key, value] = match as unknown as [string, string, string];
    const known = { ...parsed, ...outer };
    if (value.startsWith("'")) {
      parsed[key] = value.slice(1, value.indexOf("'", 1));
    } else if (value.startsWith('"')) {
      const quoted = /^"((?:[^"\\]|\\.)*)"/.exec(value)?.[1] ?? value.slice(1);
      const unescaped = quoted.replace(/\\(.)/g, (_, char: string) => ({ n: '\n', t: '\t', r: '\r' })[char] ?? char);
      parsed[key] = interpolate(unescaped, known);
    } else {
      parsed[key] = interpolate(value.replace(/\s+#.*$/, '').trim(), known);
    }
  }
  return parsed;
}

type Yaml = string | number | boolean | null | Yaml[] | { [key: string]: Yaml };

function interpolateTree(node: Yaml, variables: Variables): Yaml {
  if (typeof node === 'string') return interpolate(node, variables);
  if (Array.isArray(node)) return node.map((item) => interpolateTree(item, variables));
  if (node && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, interpolateTree(value, variables)]));
  }
  return node;
}

export interface ComposeService {
  image?: string;
  build?: string | { context?: string };
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | number | { target: string | number; published?: string | number })[];
  depends_on?: string[] | Record<string, { condition: string }>;
  healthcheck?: object;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
}

export const COMPOSE_FILE = join(PROJECT_ROOT, 'docker-compose.yml');

/** The file's YAML as written, before interpolation (anchors and aliases resolved). */
export function rawCompose(file = COMPOSE_FILE): ComposeFile {
  return parse(readFileSync(file, 'utf8'), { merge: true }) as ComposeFile;
}

/**
 * The file as `docker compose --env-file <envFile>` sees it: variables from the shell win over the
 * .env file's; throws ComposeError where Compose refuses to start.
 */
export function loadCompose(options: { envFile?: string; shell?: Variables; file?: string } = {}): { compose: ComposeFile; variables: Variables } {
  const shell = options.shell ?? {};
  const dotEnv = options.envFile ? parseDotEnv(readFileSync(options.envFile, 'utf8'), shell) : {};
  const variables = { ...dotEnv, ...shell };
  return { compose: interpolateTree(rawCompose(options.file) as unknown as Yaml, variables) as unknown as ComposeFile, variables };
}

/** Every variable the file reads (the names, not the container-side `$$VAR`s). */
export function referencedVariables(file = COMPOSE_FILE): string[] {
  const names = new Set<string>();
  const recording = new Proxy<Variables>({}, {
    get: (_, name) => {
      names.add(String(name));
      return 'set';
    },
  });
  interpolateTree(rawCompose(file) as unknown as Yaml, recording);
  return [...names].sort();
}

/** The environment a service's containers get (a key without a value takes the variable's value, if any). */
export function serviceEnvironment(loaded: { compose: ComposeFile; variables: Variables }, name: string): Record<string, string> {
  const service = loaded.compose.services[name];
  if (!service) throw new Error(`docker-compose.yml has no service "${name}"`);
  const environment = service.environment ?? {};
  const entries: [string, string | undefined][] = Array.isArray(environment)
    ? environment.map((line) => {
        const [key, ...value] = line.split('=');
        return [key!, value.length ? value.join('=') : loaded.variables[key!]];
      })
    : Object.entries(environment).map(([key, value]) => [key, value === null ? loaded.variables[key] : String(value)]);
  return Object.fromEntries(entries.filter((entry): entry is [string, string] => entry[1] !== undefined));
}
