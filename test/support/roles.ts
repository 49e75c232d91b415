import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { eventually, testConfig } from './harness.js';

/**
 * Starts `src/main.ts <role>` as its own process, the way `npm run start:<role>` does; `preload`
 * modules (test hooks) are loaded first with `--import`.
 */
export function startRole(role: 'api' | 'worker', env: Record<string, string>, preload: string[] = []) {
  const imports = ['tsx', ...preload].flatMap((module) => ['--import', module]);
  const child = spawn(process.execPath, [...imports, 'src/main.ts', role], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  return { child, output };
}

/**
 * Worker processes of a test's own, on its task queue, that the test may SIGKILL: `start` waits
 * until one polls, `stopAll` (in afterAll) ends those still running.
 */
export function killableWorkers(taskQueue: string, extraEnv: Record<string, string> = {}) {
  const config = testConfig();
  const env = {
    DATABASE_URL: config.DATABASE_URL,
    TEMPORAL_ADDRESS: config.TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE: config.TEMPORAL_NAMESPACE,
    TEMPORAL_TASK_QUEUE: taskQueue,
    LOG_LEVEL: 'info',
    ...extraEnv,
  };
  const workers: ReturnType<typeof startRole>[] = [];
  return {
    async start() {
      const worker = startRole('worker', env);
      workers.push(worker);
      await eventually(async () => (worker.output.join('').includes('worker polling') ? true : undefined), 90_000, 'worker start');
      return worker;
    },
    async stopAll() {
      for (const { child } of workers) {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          await once(child, 'exit');
        }
      }
    },
  };
}
