import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../src/lib/paths.js';
import { sleep } from './messaging.js';

const DIST = join(PROJECT_ROOT, 'dist');
const LOCK = join(DIST, '.build-lock');
const STAMP = join(DIST, '.built-for-run');

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * `npm run build` (tsc -p tsconfig.build.json) once per test run, for the test files that start
 * the compiled roles: the first to ask builds, the others wait for it, so no file of dist/ is
 * rewritten while a role started from it is loading. Test files run in forks of one vitest
 * process, whose pid identifies the run.
 */
export async function buildOnce(): Promise<void> {
  const run = String(process.ppid);
  await mkdir(DIST, { recursive: true });
  for (;;) {
    if ((await readFile(STAMP, 'utf8').catch(() => '')) === run) return;
    try {
      await mkdir(LOCK);
    } catch {
      const owner = Number(await readFile(join(LOCK, 'pid'), 'utf8').catch(() => '0'));
      if (owner && !alive(owner)) await rm(LOCK, { recursive: true, force: true });
      await sleep(500);
      continue;
    }
    try {
      await writeFile(join(LOCK, 'pid'), String(process.pid));
      await promisify(execFile)(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { cwd: PROJECT_ROOT });
      await writeFile(STAMP, run);
      return;
    } finally {
      await rm(LOCK, { recursive: true, force: true });
    }
  }
}
