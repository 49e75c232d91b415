// A thread for test/lib/thread-pool.test.ts: echoes, spins forever, or allocates without end.
import { serveThread } from '../../src/lib/thread-pool.js';

export type BusyJob = { echo: string } | { spin: true } | { allocate: true };

serveThread((job: BusyJob) => {
  if ('echo' in job) return job.echo;
  const kept: number[][] = [];
  for (;;) if ('allocate' in job) kept.push(new Array(1_000_000).fill(kept.length));
});
