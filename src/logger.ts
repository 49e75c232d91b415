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

// Whatever a log line carries (an error message quoting a query's values, a driver's detail), it
// never holds an API key, a signing secret, an email address or a phone number.
const SECRETS: [RegExp, string][] = [
  [/sk_(sandbox|live)_[A-Za-z0-9]{4,}/g, 'sk_$1_[redacted]'],
  [/whsec_[A-Za-z0-9+/=_-]{4,}/g, 'whsec_[redacted]'],
  [/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g, '[email]'],
  [/\+[1-9]\d{6,14}\b/g, '[phone]'],
];

export function scrub(text: string): string {
  let result = text;
  for (const [pattern, replacement] of SECRETS) result = result.replace(pattern, replacement);
  return result;
}

function scrubValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrub(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => scrubValue(item, depth + 1));
  if (value instanceof Error) {
    // A copy on the same prototype, so pino's error serializer still names its class; message and
    // stack are not enumerable and are scrubbed by name.
    const copy = Object.create(Object.getPrototypeOf(value) as object) as Error;
    Object.assign(copy, scrubValue({ ...value }, depth + 1));
    Object.defineProperty(copy, 'message', { value: scrub(value.message) });
    Object.defineProperty(copy, 'stack', { value: value.stack && scrub(value.stack) });
    if (value.cause !== undefined) Object.defineProperty(copy, 'cause', { value: scrubValue(value.cause, depth + 1) });
    return copy;
  }
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, scrubValue(item, depth + 1)]));
}

export function createLogger(level: string, name: string): Logger {
  return pino(
    {
      name,
      level,
      redact: ['req.headers["x-api-key"]', 'req.headers.authorization', '*.secret'],
      formatters: { log: (object) => scrubValue(object) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((arg) => (typeof arg === 'string' ? scrub(arg) : arg)) as Parameters<typeof method>);
        },
      },
    },
    stdout(),
  );
}
