import { inject } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import type { Activities } from '../../activities/index.js';
import { createRuntime, startApi, type Running, type Runtime } from '../../src/runtime.js';
import { createWorker } from '../../src/temporal/temporal.js';

export interface TestApi {
  url: string;
  config: Config;
  runtime: Runtime;
  /** A new merchant with a sandbox key; `live` adds a live key for the same merchant. */
  merchant(name?: string): Promise<{ merchantId: string; sandboxKey: string; liveKey: string }>;
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  stop(): Promise<void>;
}

export interface RequestOptions {
  key?: string;
  body?: unknown;
  /** Sent as-is instead of JSON-encoding `body`. */
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  // Tests read response JSON loosely; assertions check the shapes.
  body: any;
}

export function testConfig(overrides: Partial<Record<string, string>> = {}): Config {
  return loadConfig({ ...process.env, ...inject('testEnv'), NODE_ENV: 'test', PORT: '0', ...overrides });
}

/** The real API on a free port, against the run's Postgres and Temporal. */
export async function startTestApi(overrides: Partial<Record<string, string>> = {}): Promise<TestApi> {
  const config = testConfig(overrides);
  const logger = createLogger(config.LOG_LEVEL, 'test-api');
  const runtime = await createRuntime(config, logger);
  const api = await startApi(runtime, config, logger);
  const request = async (method: string, path: string, options: RequestOptions = {}): Promise<TestResponse> => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.key) headers['x-api-key'] = options.key;
    let body: string | undefined = options.rawBody;
    if (body === undefined && options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${api.url}${path}`, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON (docs pages): keep the text.
    }
    return { status: response.status, headers: response.headers, body: parsed };
  };
  return {
    url: api.url,
    config,
    runtime,
    request,
    async merchant(name = 'Test merchant') {
      const sandbox = await runtime.services.merchants.createMerchant(name, 'sandbox');
      const live = await runtime.services.merchants.issueKey(sandbox.merchantId, 'live');
      return { merchantId: sandbox.merchantId, sandboxKey: sandbox.key, liveKey: live.key };
    },
    async stop() {
      await api.stop();
      await runtime.stop();
    },
  };
}

/** Polls until `check` returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

/**
 * A bare worker on a test's own task queue with the activities it is given (the real ones, or
 * some replaced to fail): no relay, no housekeeping, no schedules.
 */
export async function runActivitiesWorker(api: TestApi, taskQueue: string, activities: Activities): Promise<Running> {
  const { worker, connection } = await createWorker({
    address: api.config.TEMPORAL_ADDRESS,
    namespace: api.config.TEMPORAL_NAMESPACE,
    taskQueue,
    activities,
    logger: createLogger('error', `worker-${taskQueue}`),
  });
  const running = worker.run();
  return {
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}
