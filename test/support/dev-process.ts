import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { lstat, readlink, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/dev/stack.js';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BANNER = 'Customer lifecycle service is running.';

/** Every port `npm run dev` opens, by the variable that sets it. */
export type DevPorts = Record<
  'EMBEDDED_POSTGRES_PORT' | 'TEMPORAL_PORT' | 'TEMPORAL_UI_PORT' | 'MAILDEV_SMTP_PORT' | 'MAILDEV_WEB_PORT' | 'PORT',
  number
>;

export async function freeDevPorts(): Promise<DevPorts> {
  return {
    EMBEDDED_POSTGRES_PORT: await freePort(),
    TEMPORAL_PORT: await freePort(),
    TEMPORAL_UI_PORT: await freePort(),
    MAILDEV_SMTP_PORT: await freePort(),
    MAILDEV_WEB_PORT: await freePort(),
    PORT: await freePort(),
  };
}

export interface DevProcess {
  child: ChildProcess;
  /** Everything printed so far, stdout and stderr interleaved. */
  output(): string;
  exited: Promise<number | null>;
  waitFor(text: string, timeoutMs: number): Promise<void>;
  /** Ends a run a test gave up on, without leaving its servers behind. */
  kill(): Promise<void>;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}

/**
 * `npm run dev` as a child in a process group of its own, the way a terminal runs it, so a test
 * can send Ctrl-C's SIGINT to the whole group with `process.kill(-child.pid, 'SIGINT')`.
 */
export function startDev(env: Record<string, string>): DevProcess {
  const inherited = { ...process.env };
  // Every component embedded, whatever the test run itself points at.
  for (const name of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'SMTP_URL', 'NODE_ENV']) delete inherited[name];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/dev/main.ts'], {
    cwd: PROJECT_ROOT,
    env: { ...inherited, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let text = '';
  const waiters = new Set<() => void>();
  const append = (chunk: Buffer) => {
    text += chunk.toString('utf8');
    for (const waiter of waiters) waiter();
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return {
    child,
    output: () => text,
    exited,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // A second signal makes the service exit at once; its exit hooks stop Postgres and Temporal.
      signalGroup(child.pid!, 'SIGTERM');
      await Promise.race([exited, sleep(1_500)]);
      signalGroup(child.pid!, 'SIGTERM');
      await exited;
    },
    waitFor(wanted, timeoutMs) {
      return new Promise((resolvePromise, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`"${wanted}" not printed within ${timeoutMs / 1000} s:\n${text}`));
        }, timeoutMs);
        const check = () => {
          if (!text.includes(wanted)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolvePromise();
        };
        waiters.add(check);
        check();
        void exited.then(() => {
          if (!waiters.has(check)) return;
          clearTimeout(timer);
          waiters.delete(check);
          reject(new Error(`exited before printing "${wanted}":\n${text}`));
        });
      });
    },
  };
}

/** The JSON log lines of a dev process (the banner and other plain text are skipped). */
export function logLines(output: string): { level: number; time: number; msg: string; [key: string]: unknown }[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; time: number; msg: string });
}

/** Whether something accepts TCP connections on the loopback port. */
export async function listening(port: number): Promise<boolean> {
  const socket = connect(port, '127.0.0.1');
  try {
    await once(socket, 'connect');
    return true;
  } catch {
    return false;
  } finally {
    socket.destroy();
  }
}

/** Removes a DATA_DIR, and the cluster its `postgres` link points to when root kept it elsewhere. */
export async function removeDataDir(dataDir: string): Promise<void> {
  const link = join(dataDir, 'postgres');
  if ((await lstat(link).catch(() => undefined))?.isSymbolicLink()) {
    await rm(resolve(dirname(link), await readlink(link)), { recursive: true, force: true });
  }
  await rm(dataDir, { recursive: true, force: true });
}
