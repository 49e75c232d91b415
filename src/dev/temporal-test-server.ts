import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../logger.js';
import { onPath, userCacheDir } from './temporal-cli.js';

/** Lists the test server artifact and its pinned version; copied into the cache for each build. */
export const TEST_SERVER_POM = fileURLToPath(new URL('../../test/support/temporal-test-server/pom.xml', import.meta.url));
const LAUNCHER = 'temporal-test-server';

export function testServerVersion(pom = readFileSync(TEST_SERVER_POM, 'utf8')): string {
  const version = /<temporal\.test\.server\.version>([^<]+)</.exec(pom)?.[1];
  if (!version) throw new Error(`${TEST_SERVER_POM} does not set temporal.test.server.version`);
  return version;
}

export function cachedTestServerDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(userCacheDir(env), 'temporal-test-server', testServerVersion());
}

/** What @temporalio/testing's `createTimeSkipping({ server: { executable } })` takes. */
export type TestServerExecutable = { type: 'existing-path'; path: string } | { type: 'cached-download' };

/**
 * The SDK runs `<executable> <port> [extra args]`, the same arguments as the Java main class
 * (`--enable-time-skipping` may follow the port), so the launcher passes them through. It finds
 * its jars next to itself, so the cache folder can be built elsewhere and renamed into place.
 */
function launcherScript(version: string): string {
  return `#!/bin/sh
# Temporal time-skipping test server ${version} (io.temporal:temporal-test-server from Maven Central),
# built by src/dev/temporal-test-server.ts. Arguments: <port> [--enable-time-skipping]
here=$(cd "$(dirname "$0")" && pwd)
exec "\${JAVA_HOME:+$JAVA_HOME/bin/}java" -cp "$here/lib/*" io.temporal.testserver.TestServer "$@"
`;
}

/** A cache folder counts only when complete and built from the pom the repository has now. */
async function isComplete(dir: string, pom: string): Promise<boolean> {
  if (!existsSync(join(dir, LAUNCHER))) return false;
  return (await readFile(join(dir, 'pom.xml'), 'utf8').catch(() => undefined)) === pom;
}

function java(env: NodeJS.ProcessEnv): string | undefined {
  if (env.JAVA_HOME && existsSync(join(env.JAVA_HOME, 'bin', 'java'))) return join(env.JAVA_HOME, 'bin', 'java');
  return onPath('java', env);
}

/**
 * Finds the Temporal time-skipping test server: TEMPORAL_TEST_SERVER_PATH, then the launcher in
 * the per-user cache, then a build of that launcher with Maven (from Maven Central, which is
 * reachable where GitHub downloads are not); without Java and Maven, @temporalio/testing
 * downloads the server.
 */
export async function resolveTemporalTestServer(
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<TestServerExecutable> {
  if (env.TEMPORAL_TEST_SERVER_PATH) {
    if (!existsSync(env.TEMPORAL_TEST_SERVER_PATH)) {
      throw new Error(`TEMPORAL_TEST_SERVER_PATH points to a missing file: ${env.TEMPORAL_TEST_SERVER_PATH}`);
    }
    return { type: 'existing-path', path: env.TEMPORAL_TEST_SERVER_PATH };
  }
  const pom = await readFile(TEST_SERVER_POM, 'utf8');
  const dir = cachedTestServerDir(env);
  if (await isComplete(dir, pom)) return { type: 'existing-path', path: join(dir, LAUNCHER) };
  const mvn = onPath('mvn', env);
  if (!java(env) || !mvn) {
    logger.warn('no Java or no Maven for the Temporal test server: @temporalio/testing will download it (needs internet)');
    return { type: 'cached-download' };
  }
  await buildWithMaven(mvn, dir, pom, logger, env);
  return { type: 'existing-path', path: join(dir, LAUNCHER) };
}

async function sizeOf(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) total += (await stat(join(dir, name))).size;
  return total;
}

async function buildWithMaven(mvn: string, dir: string, pom: string, logger: Logger, env: NodeJS.ProcessEnv): Promise<void> {
  const version = testServerVersion(pom);
  const partial = `${dir}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  // Maven runs on a copy in the cache, so nothing it writes can land in the repository.
  await writeFile(join(partial, 'pom.xml'), pom);
  logger.info(
    { target: dir },
    `building the Temporal test server ${version} with Maven: a one-time step of about 30 s, ` +
      `40 MB of jars and 60 MB of Maven repository (~/.m2)`,
  );
  const started = Date.now();
  const child = spawn(
    mvn,
    ['--batch-mode', '--file', join(partial, 'pom.xml'), 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${join(partial, 'lib')}`],
    { cwd: partial, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let lastLines: string[] = [];
  const collect = (chunk: string) => {
    lastLines = [...lastLines, ...chunk.split('\n').filter(Boolean)].slice(-30);
  };
  child.stdout.setEncoding('utf8').on('data', collect);
  child.stderr.setEncoding('utf8').on('data', collect);
  const progress = setInterval(() => {
    logger.info(`still building the Temporal test server (${Math.round((Date.now() - started) / 1000)} s): ${lastLines.at(-1) ?? ''}`);
  }, 15_000);
  const code = await new Promise<number | null>((resolve) => {
    child.on('error', (error) => {
      collect(String(error));
      resolve(null);
    });
    child.on('close', resolve);
  });
  clearInterval(progress);
  if (code !== 0 || !existsSync(join(partial, 'lib'))) {
    await rm(partial, { recursive: true, force: true });
    throw new Error(`Maven could not fetch the Temporal test server (exit ${code}):\n${lastLines.join('\n')}`);
  }
  await writeFile(join(partial, LAUNCHER), launcherScript(version));
  await chmod(join(partial, LAUNCHER), 0o755);
  await rm(dir, { recursive: true, force: true });
  try {
    await rename(partial, dir);
  } catch (error) {
    // A parallel run built it at the same moment: keep theirs.
    await rm(partial, { recursive: true, force: true });
    if (!(await isComplete(dir, pom))) throw error;
  }
  logger.info(
    { seconds: Math.round((Date.now() - started) / 1000), megabytes: Math.round((await sizeOf(join(dir, 'lib'))) / 1e6), target: dir },
    'Temporal test server built and cached',
  );
}
