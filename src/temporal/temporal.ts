import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, Worker, type Logger as SdkLogger } from '@temporalio/worker';
import protos from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../../workflows/definitions.js';
import type { Activities } from '../../activities/index.js';
import { CODE_ROOT, MODULE_EXTENSION } from '../lib/paths.js';
import type { Logger } from '../logger.js';

export const WORKFLOWS_PATH = join(CODE_ROOT, 'workflows', `index${MODULE_EXTENSION}`);

export interface TemporalTarget {
  address: string;
  namespace: string;
}

export async function connectClient(target: TemporalTarget): Promise<Client> {
  const connection = await Connection.connect({ address: target.address });
  return new Client({ connection, namespace: target.namespace });
}

/**
 * Registers the custom search attributes the workflows set (CustomerId, MerchantId) when the
 * namespace lacks them, so runs are findable in the Temporal UI on any self-managed cluster.
 */
export async function ensureSearchAttributes(client: Client, namespace: string, logger: Logger): Promise<void> {
  const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace });
  const missing = Object.values(SEARCH_ATTRIBUTES).filter((key) => !customAttributes?.[key.name]);
  if (missing.length === 0) return;
  await client.connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(
      missing.map((key) => [key.name, protos.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
    ),
  });
  logger.info({ attributes: missing.map((key) => key.name) }, 'registered Temporal search attributes');
}

export interface WorkerOptions extends TemporalTarget {
  taskQueue: string;
  activities: Activities;
  logger: Logger;
  /** How long a stopping worker lets activities in flight finish before cancelling them. */
  shutdownGraceMs?: number;
}

/** The SDK's logger interface over pino, so worker logs share the service's format and level. */
function sdkLogger(logger: Logger): SdkLogger {
  const at =
    (level: 'trace' | 'debug' | 'info' | 'warn' | 'error') =>
    (message: string, meta?: Record<string, unknown>) =>
      logger[level](meta ?? {}, message);
  return {
    log: (level, message, meta) => at(level === 'TRACE' ? 'trace' : (level.toLowerCase() as 'debug'))(message, meta),
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  };
}

let runtimeInstalled = false;

/**
 * The SDK would drain workers on SIGINT/SIGTERM by itself; the service's own shutdown does that
 * in order (API first, then the worker, then the servers), so the SDK's signal handling is off.
 */
function installRuntime(logger: Logger): void {
  if (runtimeInstalled) return;
  Runtime.install({ shutdownSignals: [], logger: sdkLogger(logger.child({ component: 'temporal-sdk' })) });
  runtimeInstalled = true;
  logger.debug('Temporal runtime installed without signal handlers');
}

export async function createWorker(options: WorkerOptions): Promise<{ worker: Worker; connection: NativeConnection }> {
  installRuntime(options.logger);
  const connection = await NativeConnection.connect({ address: options.address });
  const worker = await Worker.create({
    connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities: options.activities,
    // The SDK's default (0) cancels activities in flight at once: a webhook attempt or a saga step
    // under way is let finish instead, and its outcome recorded.
    shutdownGraceTime: options.shutdownGraceMs ?? 30_000,
  });
  return { worker, connection };
}
