import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import { createLogger } from '../../src/logger.js';
import { resolveTemporalTestServer } from '../../src/dev/temporal-test-server.js';

const SDK_LEVELS: LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];
let runtimeInstalled = false;

/**
 * A Temporal test server whose clock jumps ahead whenever every workflow only waits on timers, for
 * workflows that sleep for days. The server is built once per machine (see
 * src/dev/temporal-test-server.ts): the first call can take a minute, and says so.
 */
export async function startTimeSkippingEnvironment(): Promise<TestWorkflowEnvironment> {
  const level = (process.env.TEST_LOG_LEVEL ?? 'warn').toUpperCase() as LogLevel;
  if (!runtimeInstalled) {
    // The SDK's default runtime prints every worker state change; the suite's other logs stay at TEST_LOG_LEVEL.
    Runtime.install({ logger: new DefaultLogger(SDK_LEVELS.includes(level) ? level : 'WARN') });
    runtimeInstalled = true;
  }
  // At info whatever TEST_LOG_LEVEL says: the one-time build announces its cost.
  const executable = await resolveTemporalTestServer(createLogger('info', 'temporal-test-server'));
  return TestWorkflowEnvironment.createTimeSkipping({ server: { executable } });
}
