import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, type ResourceLimits } from 'node:worker_threads';

// CPU-bound work that must not hold the event loop (rendering merchants' templates) runs in a few
// worker threads, plain JavaScript only. A job has a hard deadline: past it the thread is
// terminated (which stops even a synchronous loop) and replaced.

type ToThread<In> = { id: number; input: In };
type FromThread<Out> = { ready: true } | { id: number; output: Out; ms: number } | { id: number; error: string };

/** The job ran past its deadline: its thread was terminated. */
export class ThreadTimeoutError extends Error {}

/** The thread died while running the job (out of memory under its resource limits, a crash). */
export class ThreadCrashError extends Error {}

export interface ThreadPoolOptions {
  /** The thread's module: `new URL('./x.thread.js', import.meta.url)` with the running extension. */
  script: URL;
  size: number;
  resourceLimits?: ResourceLimits;
}

interface Job<In, Out> {
  id: number;
  input: In;
  timeoutMs: number;
  resolve(value: { output: Out; ms: number }): void;
  reject(error: Error): void;
}

interface Thread<In, Out> {
  worker: Worker;
  ready: boolean;
  job?: Job<In, Out>;
  timer?: NodeJS.Timeout;
}

/**
 * From TypeScript sources (tsx in development and tests) a thread registers tsx before importing
 * its module; compiled (dist/), it imports the JavaScript directly.
 */
function startThread(script: URL, resourceLimits: ResourceLimits | undefined): Worker {
  if (!script.pathname.endsWith('.ts')) return new Worker(script, { resourceLimits });
  // tsx's ESM API (its CommonJS build cannot register the hooks from an eval'd thread).
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs'));
  const boot = `import(${JSON.stringify(tsx.href)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(script.href)}); });`;
  return new Worker(boot, { eval: true, execArgv: [], resourceLimits });
}

export class ThreadPool<In, Out> {
  private readonly threads = new Set<Thread<In, Out>>();
  private readonly queue: Job<In, Out>[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: ThreadPoolOptions) {}

  /**
   * Runs `input` on a free thread; `timeoutMs` counts from when the thread starts on it (not the
   * wait for a free one). Resolves with the output and the thread's own time on it.
   */
  run(input: In, timeoutMs: number): Promise<{ output: Out; ms: number }> {
    if (this.closed) return Promise.reject(new Error('the thread pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, input, timeoutMs, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('the thread pool is closed'));
    await Promise.all([...this.threads].map((thread) => this.discard(thread, new Error('the thread pool is closed'))));
  }

  private dispatch(): void {
    for (const thread of this.threads) {
      if (this.queue.length === 0) return;
      if (thread.ready && !thread.job) this.start(thread, this.queue.shift()!);
    }
    let starting = [...this.threads].filter((thread) => !thread.ready).length;
    while (this.queue.length > starting && this.threads.size < this.options.size) {
      this.spawn();
      starting += 1;
    }
  }

  private start(thread: Thread<In, Out>, job: Job<In, Out>): void {
    thread.job = job;
    thread.worker.ref();
    thread.timer = setTimeout(() => {
      void this.discard(thread, new ThreadTimeoutError(`the job ran longer than ${job.timeoutMs} ms; its thread was stopped`));
    }, job.timeoutMs);
    thread.worker.postMessage({ id: job.id, input: job.input } satisfies ToThread<In>);
  }

  private spawn(): void {
    const thread: Thread<In, Out> = { worker: startThread(this.options.script, this.options.resourceLimits), ready: false };
    this.threads.add(thread);
    thread.worker.unref();
    thread.worker.on('message', (message: FromThread<Out>) => {
      if ('ready' in message) {
        thread.ready = true;
      } else if (thread.job?.id === message.id) {
        const job = thread.job;
        this.finish(thread);
        if ('error' in message) job.reject(new Error(message.error));
        else job.resolve({ output: message.output, ms: message.ms });
      }
      this.dispatch();
    });
    thread.worker.on('error', (error) => {
      // A thread that never became ready cannot run anything: its module does not load.
      const failure = thread.ready ? new ThreadCrashError(`the thread stopped: ${error.message}`) : error;
      if (!thread.ready) for (const job of this.queue.splice(0)) job.reject(failure);
      void this.discard(thread, failure);
    });
    thread.worker.on('exit', () => void this.discard(thread, new ThreadCrashError('the thread exited')));
  }

  private finish(thread: Thread<In, Out>): void {
    clearTimeout(thread.timer);
    thread.job = undefined;
    thread.worker.unref();
  }

  private async discard(thread: Thread<In, Out>, reason: Error): Promise<void> {
    if (!this.threads.delete(thread)) return;
    const job = thread.job;
    this.finish(thread);
    job?.reject(reason);
    await thread.worker.terminate();
    if (!this.closed) this.dispatch();
  }
}

/**
 * The thread side: answers each job with `handle`'s output and the time it took. Posts `ready`
 * once its module (and so everything it imports) has loaded.
 */
export function serveThread<In, Out>(handle: (input: In) => Out): void {
  if (isMainThread || !parentPort) throw new Error('serveThread runs in a worker thread');
  const port = parentPort;
  port.on('message', ({ id, input }: ToThread<In>) => {
    const started = performance.now();
    try {
      const output = handle(input);
      port.postMessage({ id, output, ms: performance.now() - started } satisfies FromThread<Out>);
    } catch (error) {
      port.postMessage({ id, error: (error as Error).message ?? String(error) } satisfies FromThread<Out>);
    }
  });
  port.postMessage({ ready: true } satisfies FromThread<Out>);
}
