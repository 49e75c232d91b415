import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, name: string): Logger {
  return pino({
    name,
    level,
    redact: ['req.headers["x-api-key"]', 'req.headers.authorization', '*.secret'],
  });
}
