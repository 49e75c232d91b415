// `npm run bench:profile`: the API under the GET and POST loads with `node --cpu-prof`, and the
// functions where it spent its own CPU time, heaviest first. Profiles are kept in bench/results/.
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/lib/paths.js';
import { startBenchEnvironment } from './env.js';
import { load } from './load.js';
import { progress } from './table.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
}

/** Where a frame's code comes from: a package, the service's own code, or Node itself. */
function origin(url: string): string {
  const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1];
  if (pkg) return pkg;
  if (url.includes('/dist/')) return `service: ${url.replace(/^.*\/dist\//, '').split('/').slice(0, 2).join('/')}`;
  return url ? 'node internals' : '(vm: gc, idle, program)';
}

/** Self time grouped by where the code comes from: which layer the CPU goes to. */
async function byOrigin(file: string, count: number): Promise<string[]> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as { nodes: ProfileNode[] };
  const self = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    total += node.hitCount;
    const name = origin(node.callFrame.url);
    self.set(name, (self.get(name) ?? 0) + node.hitCount);
  }
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, hits]) => `${((hits / total) * 100).toFixed(1).padStart(5)}%  ${name}`);
}

async function topFrames(file: string, count: number): Promise<string[]> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as { nodes: ProfileNode[] };
  const self = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    total += node.hitCount;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/dist\//, 'dist/')}:${lineNumber + 1}` : '';
    const name = `${functionName || '(anonymous)'} ${where}`.trim();
    self.set(name, (self.get(name) ?? 0) + node.hitCount);
  }
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, hits]) => `${((hits / total) * 100).toFixed(1).padStart(5)}%  ${name}`);
}

async function profile(kind: 'get' | 'post' | 'batch'): Promise<void> {
  const dir = join(PROJECT_ROOT, 'bench', 'results', `profile-${kind}-${Date.now()}`);
  await mkdir(dir, { recursive: true });
  const env = await startBenchEnvironment({ worker: false, apiExecArgv: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
  try {
    const { key } = await env.merchant(`Profile ${kind}`);
    const headers = { 'x-api-key': key, 'content-type': 'application/json' };
    const body = JSON.stringify({ name: 'Profiled', tags: ['trial'], metadata: { plan: 'pro' } });
    const created = (await (await fetch(`${env.apiUrl}/v1/customers`, { method: 'POST', headers, body })).json()) as { id: string };
    progress(`profiling ${kind}`);
    if (kind === 'batch') {
      const started = performance.now();
      for (let batch = 0; batch < 30; batch++) {
        const items = Array.from({ length: 1000 }, (_, i) => ({ source: 'p', external_id: `p${batch}-${i}`, email: `p${batch}-${i}@bench.test`, tags: ['imported'] }));
        await fetch(`${env.apiUrl}/v1/customers/external/batch`, { method: 'PUT', headers, body: JSON.stringify({ items }) });
      }
      process.stdout.write(`\nbatch: ${Math.round(30_000 / ((performance.now() - started) / 1000))} customers/s\n`);
    } else {
      const result =
        kind === 'get'
          ? await load({ url: `${env.apiUrl}/v1/customers/${created.id}`, connections: 32, durationSeconds: 10, headers })
          : await load({ url: `${env.apiUrl}/v1/customers`, connections: 16, durationSeconds: 10, method: 'POST', headers, body });
      process.stdout.write(`\n${kind}: ${Math.round(result.requestsPerSecond)} req/s, p99 ${result.p99Ms} ms\n`);
    }
  } finally {
    await env.stop();
  }
  const [file] = (await readdir(dir)).filter((name) => name.endsWith('.cpuprofile'));
  process.stdout.write(`self time by origin:\n${(await byOrigin(join(dir, file!), 15)).join('\n')}\n`);
  process.stdout.write(`top self-time frames of the API (${join(dir, file!)}):\n${(await topFrames(join(dir, file!), 25)).join('\n')}\n`);
}

execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
for (const kind of process.argv.slice(2).length ? (process.argv.slice(2) as ('get' | 'post' | 'batch')[]) : (['get', 'post', 'batch'] as const)) {
  await profile(kind);
}
