import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { builtinModules } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../src/dev/stack.js';
import { PROJECT_ROOT } from '../../src/lib/paths.js';
import { buildOnce } from '../support/build.js';
import { loadCompose, serviceEnvironment, type Variables } from '../support/compose.js';
import { eventually } from '../support/harness.js';
import { address, emailStep, mailTo, phone, smsStep } from '../support/messaging.js';

// docker-compose.yml run without Docker: the compiled roles (`npm run build`, started as the
// Dockerfile's ENTRYPOINT starts them) with exactly the environment the file gives each service,
// interpolated from the .env that docs/deploy.md has the user write. Only what a container network
// would do is done here: the service host names postgres, temporal and maildev become the suite's
// embedded Postgres, Temporal dev server and MailDev, and the API's container port the port the
// file publishes it on.

const REQUIRED = ['SECRETS_ENCRYPTION_KEYS', 'POSTGRES_PASSWORD', 'PUBLIC_BASE_URL'];

type Compose = ReturnType<typeof loadCompose>;

/** The JSON-form arguments of the last ENTRYPOINT or CMD of the Dockerfile (the image's stage). */
function dockerfile(instruction: 'ENTRYPOINT' | 'CMD'): string[] {
  const lines = readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8').split('\n');
  const found = lines.filter((line) => line.startsWith(`${instruction} [`)).at(-1);
  if (!found) throw new Error(`the Dockerfile has no JSON-form ${instruction}`);
  return JSON.parse(found.slice(instruction.length + 1)) as string[];
}

/** The files the final stage of the Dockerfile copies into the image, by their path in it. */
function imageFiles(): string[] {
  const dockerfileText = readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
  const finalStage = dockerfileText.slice(dockerfileText.lastIndexOf('\nFROM '));
  return [...finalStage.matchAll(/^COPY (?:--from=\S+ )?(\S+) (\S+)$/gm)].map(([, source, target]) =>
    target === './' ? source!.replace(/^\/app\//, '') : target!.replace(/^\.\//, ''),
  );
}

/** Bare package names imported by the compiled modules reachable from `entries` (type imports are gone in JS). */
function packagesReachedFrom(entries: string[]): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const [, fromClause, bare, dynamic] of source.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm)) {
      const specifier = (fromClause ?? bare ?? dynamic)!;
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier));
      else if (!specifier.startsWith('node:') && !builtinModules.includes(specifier)) {
        packages.add(specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/'));
      }
    }
  };
  entries.forEach(visit);
  return packages;
}

describe('docker-compose.yml, run the way docs/deploy.md says', () => {
  const suite = inject('testEnv');
  let projectDir: string;
  let workDir: string;
  let apiPort: number;
  let secrets: Variables;

  /** `docker compose run <service> [args]`: the image's entrypoint with the service's environment. */
  function container(compose: Compose, name: string, args?: string[]) {
    const service = compose.compose.services[name]!;
    const [tini, separator, node, ...nodeArgs] = dockerfile('ENTRYPOINT');
    expect([tini, separator, node]).toEqual(['tini', '--', 'node']);
    const command = args ?? (Array.isArray(service.command) ? service.command : dockerfile('CMD'));
    const env = onThisMachine(compose, name);
    // The image's WORKDIR holds the built tree as this checkout does; the process runs in an empty
    // folder so that a developer's .env here is not read (the image has none: .dockerignore).
    const child = spawn(process.execPath, [...nodeArgs.map((arg) => (existsSync(join(PROJECT_ROOT, arg)) ? join(PROJECT_ROOT, arg) : arg)), ...command], {
      cwd: workDir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: string[] = [];
    const output: string[] = [];
    child.stdout.on('data', (chunk: Buffer) => (stdout.push(chunk.toString()), output.push(chunk.toString())));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    return { child, stdout, output, env };
  }

  /** A service's environment with the compose host names on the suite's components. */
  function onThisMachine(compose: Compose, name: string): Record<string, string> {
    const hosts: Record<string, string> = {
      'postgres:5432': new URL(suite.DATABASE_URL).host,
      'temporal:7233': suite.TEMPORAL_ADDRESS,
      'maildev:1025': new URL(suite.SMTP_URL).host,
    };
    const env = Object.fromEntries(
      Object.entries(serviceEnvironment(compose, name)).map(([key, value]) => [
        key,
        value.replace(/(?<=^|[/@])[a-z][\w-]*:\d+(?=$|[/?])/g, (hostPort) => hosts[hostPort] ?? hostPort),
      ]),
    );
    // The port the file publishes the container's PORT on, as the host reaches it.
    const published = (compose.compose.services[name]!.ports ?? [])
      .map((port) => String(port).split(':'))
      .find((parts) => parts.at(-1) === env.PORT)
      ?.at(-2);
    return published ? { ...env, PORT: published } : env;
  }

  /** docs/deploy.md: the lines of `secrets generate`, then PUBLIC_BASE_URL. */
  async function writeEnvFile(lines: string[]): Promise<string> {
    const file = join(projectDir, '.env');
    await writeFile(file, `${lines.join('\n')}\n`);
    return file;
  }

  beforeAll(async () => {
    await buildOnce();
    projectDir = await mkdtemp(join(tmpdir(), 'compose-project-'));
    workDir = await mkdtemp(join(tmpdir(), 'compose-workdir-'));
    apiPort = await freePort();
    const generated = spawn(process.execPath, [join(PROJECT_ROOT, 'dist/src/main.js'), 'secrets', 'generate'], { cwd: workDir, env: {} });
    const lines: string[] = [];
    generated.stdout.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
    const [code] = await once(generated, 'exit');
    expect(code).toBe(0);
    secrets = Object.fromEntries(lines.join('').trim().split('\n').map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]));
    expect(Object.keys(secrets).sort()).toEqual(['POSTGRES_PASSWORD', 'SECRETS_ENCRYPTION_KEYS']);
  }, 180_000);
  afterAll(async () => {
    await rm(projectDir, { recursive: true, force: true });
    await rm(workDir, { recursive: true, force: true });
  });

  it.each(REQUIRED)('refuses to start without %s, saying where to put it', async (name) => {
    const values: Variables = { ...secrets, PUBLIC_BASE_URL: 'http://localhost:3000' };
    const withEmpty = Object.entries(values).map(([key, value]) => `${key}=${key === name ? '' : value}`);
    const without = Object.entries(values).filter(([key]) => key !== name).map(([key, value]) => `${key}=${value}`);
    for (const lines of [without, withEmpty]) {
      const envFile = await writeEnvFile(lines);
      expect(() => loadCompose({ envFile })).toThrow(`required variable ${name} is missing a value: put ${name} in .env`);
    }
  });

  it('migrates, serves, works, makes a key; a customer gets the sequence email and is deleted', async () => {
    // A user and database of the test's own, so these roles never share rows with the suite's worker;
    // TEMPORAL_TASK_QUEUE keeps the file's default, which no suite worker polls.
    const isolation = { POSTGRES_USER: `compose_${process.pid}`, POSTGRES_DB: `compose_${process.pid}_${Date.now()}`, API_PORT: String(apiPort) };
    const envFile = await writeEnvFile([
      ...Object.entries(secrets).map(([key, value]) => `${key}=${value}`),
      `PUBLIC_BASE_URL=http://localhost:${apiPort}`,
      ...Object.entries(isolation).map(([key, value]) => `${key}=${value}`),
    ]);
    const compose = loadCompose({ envFile });
    expect(serviceEnvironment(compose, 'worker').TEMPORAL_TASK_QUEUE).not.toBe(suite.TEMPORAL_TASK_QUEUE);

    // What the postgres image does on its first start: the superuser and database of its environment.
    const postgres = serviceEnvironment(compose, 'postgres');
    const admin = new pg.Client({ connectionString: suite.DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE ROLE "${postgres.POSTGRES_USER}" LOGIN SUPERUSER PASSWORD ${admin.escapeLiteral(postgres.POSTGRES_PASSWORD!)}`);
    await admin.query(`CREATE DATABASE "${postgres.POSTGRES_DB}" OWNER "${postgres.POSTGRES_USER}"`);
    const running: ReturnType<typeof container>[] = [];
    try {
      const migrate = container(compose, 'migrate');
      const [migrateCode] = await once(migrate.child, 'exit');
      expect(migrateCode, migrate.output.join('')).toBe(0);
      expect(migrate.output.join('')).toContain('migrations applied');

      const api = container(compose, 'api');
      const worker = container(compose, 'worker');
      running.push(api, worker);
      const base = api.env.PUBLIC_BASE_URL!;
      await eventually(async () => ((await fetch(`${base}/ready`)).ok ? true : undefined), 60_000, `the api to be ready:\n${api.output.join('')}`);
      await eventually(async () => (worker.output.join('').includes('worker polling') ? true : undefined), 90_000, 'the worker to poll');

      // docs/deploy.md: docker compose run --rm api merchant create "Acme" live
      const merchant = container(compose, 'api', ['merchant', 'create', 'Acme', 'live']);
      const [merchantCode] = await once(merchant.child, 'exit');
      expect(merchantCode, merchant.output.join('')).toBe(0);
      const key = merchant.stdout.join('').match(/^live API key \(shown once\): (sk_live_\w+)$/m)?.[1];
      expect(key, merchant.stdout.join('')).toBeDefined();

      const call = async (method: string, path: string, body?: unknown) => {
        const response = await fetch(`${base}/v1${path}`, {
          method,
          headers: { 'x-api-key': key!, ...(body !== undefined && { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        return { status: response.status, body: (await response.json()) as any };
      };
      const sequence = await call('POST', '/sequences', {
        name: 'Welcome',
        trigger_tag: 'compose',
        steps: [emailStep('Welcome from compose'), smsStep('Hello from compose')],
      });
      expect(sequence.status, JSON.stringify(sequence.body)).toBe(201);
      const email = address('compose');
      const customer = await call('POST', '/customers', { email, phone: phone(), name: 'Ada', tags: ['compose'] });
      expect(customer.status, JSON.stringify(customer.body)).toBe(201);

      const [welcome] = await eventually(async () => ((await mailTo(email)).length ? mailTo(email) : undefined), 60_000, 'the sequence email');
      expect(welcome!.subject).toBe('Welcome from compose');
      // Unsubscribe links point at PUBLIC_BASE_URL, the address the API is published on.
      expect(welcome!.headers['list-unsubscribe']).toMatch(new RegExp(`^<${base}/unsubscribe/`));
      // Production without an SMS provider: the SMS step is recorded as skipped, nothing is sent.
      const sms = await eventually(async () => {
        const messages = await call('GET', `/customers/${customer.body.id}/messages`);
        return (messages.body.data as { channel: string; status: string }[]).find((message) => message.channel === 'sms');
      }, 30_000, 'the SMS step');
      expect(sms, JSON.stringify(sms)).toMatchObject({ status: 'skipped', skip_reason: 'no SMS provider configured' });
      expect(await mailTo(`${customer.body.phone.replace(/^\+/, '')}@sms.invalid`)).toEqual([]);

      expect((await call('DELETE', `/customers/${customer.body.id}`)).status).toBe(202);
      const deletion = await eventually(async () => {
        const status = await call('GET', `/customers/${customer.body.id}/deletion`);
        return status.body.status === 'completed' ? status.body : undefined;
      }, 60_000, 'the deletion to complete');
      expect(deletion.customer_id).toBe(customer.body.id);
    } finally {
      for (const { child } of running) child.kill('SIGTERM');
      const codes = await Promise.all(running.map(async ({ child }) => (child.exitCode ?? (await once(child, 'exit'))[0]) as number | null));
      await admin.query(`DROP DATABASE IF EXISTS "${postgres.POSTGRES_DB}" WITH (FORCE)`);
      await admin.query(`DROP ROLE IF EXISTS "${postgres.POSTGRES_USER}"`);
      await admin.end();
      expect(codes, running.map(({ output }) => output.join('')).join('\n')).toEqual(running.map(() => 0));
    }
  }, 240_000);

  it('puts into the image everything the entrypoint loads: the build, production dependencies, package.json, migrations', () => {
    expect(imageFiles()).toEqual(expect.arrayContaining(['node_modules', 'dist', 'package.json', 'prisma']));
    const dependencies = Object.keys((JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { dependencies: object }).dependencies);
    const entry = dockerfile('ENTRYPOINT').find((arg) => arg.endsWith('.js'))!;
    // The worker bundles dist/workflows/index.js for Temporal at start; it is read, not imported.
    const reached = packagesReachedFrom([join(PROJECT_ROOT, entry), join(PROJECT_ROOT, 'dist/workflows/index.js')]);
    expect(reached.size).toBeGreaterThan(5);
    expect([...reached].filter((name) => !dependencies.includes(name))).toEqual([]);
  });
});
