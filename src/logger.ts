import { pino, type Logger } from 'pino';

export type { Logger };

// One asynchronous destination per process: writing each line synchronously to stdout (pino's
// default) blocked the API on every request. What is still buffered is flushed when the process
// exits, so the last lines of a shutdown are never lost.
let destination: ReturnType<typeof pino.destination> | undefined;
function stdout() {
  if (!destination) {
    const opened = pino.destination({ dest: 1, sync: false });
    process.once('exit', () => opened.flushSync());
    destination = opened;
  }
  return destination;
}

export function createLogger(level: string, name: string): Logger {
  return pino(
    {
      name,
      level,
      redact: ['req.headers["x-api-key"]', 'req.headers.authorization', '*.secret'],
    },
    stdout(),
  );
}
