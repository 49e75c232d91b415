import { afterAll, describe, expect, it } from 'vitest';
import { ThreadCrashError, ThreadPool, ThreadTimeoutError } from '../../src/lib/thread-pool.js';
import type { BusyJob } from '../support/busy-thread.js';

describe('thread pool', () => {
  const pool = new ThreadPool<BusyJob, string>({
    script: new URL('../support/busy-thread.ts', import.meta.url),
    size: 1,
    resourceLimits: { maxOldGenerationSizeMb: 32 },
  });
  afterAll(() => pool.close());

  it('runs jobs in a thread and answers with their output', async () => {
    const { output, ms } = await pool.run({ echo: 'hello' }, 5_000);
    expect(output).toBe('hello');
    expect(ms).toBeGreaterThanOrEqual(0);
  });

  it('stops a thread that runs past its deadline, while the event loop stays free, and goes on with a new one', async () => {
    let ticks = 0;
    const ticking = setInterval(() => (ticks += 1), 5);
    const outcome = await pool.run({ spin: true }, 300).catch((error: unknown) => error);
    clearInterval(ticking);
    expect(outcome).toBeInstanceOf(ThreadTimeoutError);
    // The loop never ends in its thread, yet timers here kept firing meanwhile.
    expect(ticks).toBeGreaterThan(3);
    expect((await pool.run({ echo: 'after' }, 5_000)).output).toBe('after');
  });

  it('a thread that exhausts its heap fails its job, not the process', async () => {
    const outcome = await pool.run({ allocate: true }, 60_000).catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(ThreadCrashError);
    expect((await pool.run({ echo: 'still here' }, 5_000)).output).toBe('still here');
  });

  it('queues jobs beyond its threads and runs each', async () => {
    const outputs = await Promise.all(['a', 'b', 'c', 'd'].map((echo) => pool.run({ echo }, 5_000)));
    expect(outputs.map((result) => result.output)).toEqual(['a', 'b', 'c', 'd']);
  });
});
