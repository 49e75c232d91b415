import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Where this build's modules live: the project root when run from source (tsx), `dist/` once
 * compiled (`npm run build` mirrors the tree there), and the extension its modules carry.
 */
export const CODE_ROOT = join(here, '..', '..');
export const MODULE_EXTENSION = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/** The folder holding package.json and prisma/, whether run from source or from dist/. */
export const PROJECT_ROOT = findProjectRoot(here);
