import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Logger } from '../logger.js';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';

/** The per-user cache: tools built here once serve every checkout (and CI). */
export function userCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'customer-lifecycle');
}

/** Built once per machine, outside any clone, so every checkout (and CI) reuses it. */
export function cachedCliPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(userCacheDir(env), 'temporal-cli', TEMPORAL_CLI_VERSION, 'temporal');
}

export function onPath(command: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, command);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Where the Temporal CLI comes from: a path to run, or "download" for @temporalio/testing to fetch it. */
export type TemporalCli = { kind: 'path'; path: string } | { kind: 'download' };

/**
 * Finds the Temporal CLI: TEMPORAL_CLI_PATH, then `temporal` on PATH, then the per-user cache,
 * then a build with `go install` into that cache; without Go, @temporalio/testing downloads it.
 */
export async function resolveTemporalCli(logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<TemporalCli> {
  if (env.TEMPORAL_CLI_PATH) {
    if (!existsSync(env.TEMPORAL_CLI_PATH)) throw new Error(`TEMPORAL_CLI_PATH points to a missing file: ${env.TEMPORAL_CLI_PATH}`);
    return { kind: 'path', path: env.TEMPORAL_CLI_PATH };
  }
  const fromPath = onPath('temporal', env);
  if (fromPath) return { kind: 'path', path: fromPath };
  const cached = cachedCliPath(env);
  if (existsSync(cached)) return { kind: 'path', path: cached };
  const go = onPath('go', env);
  if (!go) {
    logger.warn('no Temporal CLI and no Go toolchain: @temporalio/testing will download the dev server (needs internet)');
    return { kind: 'download' };
  }
  await buildWithGo(go, cached, logger, env);
  return { kind: 'path', path: cached };
}

async function buildWithGo(go: string, target: string, logger: Logger, env: NodeJS.ProcessEnv): Promise<void> {
  const binDir = join(target, '..');
  await mkdir(binDir, { recursive: true });
  const version = spawnSync(go, ['version'], { encoding: 'utf8' }).stdout.trim();
  logger.info(
    { target, go: version },
    `building the Temporal CLI ${TEMPORAL_CLI_VERSION} with Go: a one-time step of about 3 minutes and 2 GB of module cache`,
  );
  const started = Date.now();
  const child = spawn(go, ['install', `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], {
    env: { ...env, GOBIN: binDir, GOFLAGS: '-mod=mod' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let lastLines: string[] = [];
  let lastLineAt: number | undefined;
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    lastLines = [...lastLines, ...chunk.split('\n').filter(Boolean)].slice(-20);
    lastLineAt = Date.now();
  });
  const progress = setInterval(() => {
    logger.info(buildProgress({ startedAt: started, lastLine: lastLines.at(-1), lastLineAt }, Date.now()));
  }, 15_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(progress);
  if (code !== 0 || !existsSync(target)) {
    throw new Error(`go install of the Temporal CLI failed (exit ${code}):\n${lastLines.join('\n')}`);
  }
  logger.info({ seconds: Math.round((Date.now() - started) / 1000), target }, 'Temporal CLI built and cached');
}

/** `go install` prints nothing while it compiles: output quiet this long means downloads are over. */
export const COMPILING_AFTER_QUIET_MS = 10_000;

const DOWNLOAD_LINE = /^go: downloading /;

/**
 * The progress line of a running `go install`: the module it downloads while lines arrive, and
 * "compiling" once they stop (also when every module was in the cache and none arrived).
 */
export function buildProgress(output: { startedAt: number; lastLine?: string; lastLineAt?: number }, now: number): string {
  const prefix = `still building the Temporal CLI (${Math.round((now - output.startedAt) / 1000)} s)`;
  const quietMs = now - (output.lastLineAt ?? output.startedAt);
  const downloaded = output.lastLine !== undefined && DOWNLOAD_LINE.test(output.lastLine);
  if (quietMs >= COMPILING_AFTER_QUIET_MS) {
    return `${prefix}: compiling${downloaded ? `, the last download ${Math.round(quietMs / 1000)} s ago` : ''}`;
  }
  if (downloaded) return `${prefix}: downloading modules, ${output.lastLine!.replace(DOWNLOAD_LINE, '')}`;
  return `${prefix}: ${output.lastLine ?? 'resolving the module'}`;
}
