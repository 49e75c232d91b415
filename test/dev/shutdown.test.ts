import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../src/dev/stack.js';
import { eventually, testConfig } from '../support/harness.js';

/** Starts `src/main.ts <role>` as its own process, the way `npm run start:<role>` does. */
function startRole(role: 'api' | 'worker', env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', role], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  return { child, output };
}

describe('graceful shutdown of the production roles', () => {
  it('the API drains and exits 0 on SIGTERM', async () => {
    const config = testConfig();
    const port = await freePort();
    const { child, output } = startRole('api', {
      DATABASE_URL: config.DATABASE_URL,
      TEMPORAL_ADDRESS: config.TEMPORAL_ADDRESS,
      PORT: String(port),
      LOG_LEVEL: 'info',
    });
    await eventually(async () => ((await fetch(`http://127.0.0.1:${port}/health`)).ok ? true : undefined), 30_000, 'api start');
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code, output.join('')).toBe(0);
    expect(output.join('')).toContain('SIGTERM received, shutting down');
  });

  it('the worker drains and exits 0 on SIGTERM', async () => {
    const config = testConfig();
    const { child, output } = startRole('worker', {
      DATABASE_URL: config.DATABASE_URL,
      TEMPORAL_ADDRESS: config.TEMPORAL_ADDRESS,
      TEMPORAL_TASK_QUEUE: `shutdown-check-${Date.now()}`,
      LOG_LEVEL: 'info',
    });
    await eventually(async () => (output.join('').includes('worker polling') ? true : undefined), 60_000, 'worker start');
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    const log = output.join('');
    expect(code, log).toBe(0);
    expect(log).toMatch(/"state":"STOPPED"|state: 'STOPPED'/);
  });
});
