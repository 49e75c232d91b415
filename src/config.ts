import { z } from 'zod';
import type { LtvRollupSettings } from '../workflows/definitions.js';
import { parseDuration } from './lib/duration.js';
import { isTimeZone } from './lib/iso.js';
import { SecretBox } from './lib/secret-box.js';
import type { RenderSettings } from './sequences/sequence.renderer.js';

/** Protects nothing: only for development and tests, where no real secret should be stored. */
const DEVELOPMENT_SECRETS_KEY = `dev:${Buffer.alloc(32, 'development only, not secret').toString('base64')}`;

const durationList = (fallback: string) => z
  .string()
  .default(fallback)
  .transform((text, context) => {
    const parts = text.split(',').map((part) => part.trim());
    const durations = parts.map(parseDuration);
    if (parts.length === 0 || durations.some((ms) => ms === undefined)) {
      context.addIssue({ code: 'custom', message: 'expected comma-separated durations such as 5s,5m,30m,2h' });
      return z.NEVER;
    }
    return durations as number[];
  });

const duration = (fallback: string) => z
  .string()
  .default(fallback)
  .transform((text, context) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      context.addIssue({ code: 'custom', message: 'expected a duration such as 30s, 6h or 1d' });
      return z.NEVER;
    }
    return ms;
  });

/** Every variable the processes read; `.env.example` documents the same list. */
export const ConfigSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  /** Connections each process keeps to the database (Prisma and plain SQL share them). */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  /**
   * How long a process trusts an API key it looked up: a revoked key stops working within this
   * long (in every process). 0 looks the key up on every request.
   */
  API_KEY_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  TEMPORAL_ADDRESS: z.string().regex(/^[^:\s]+:\d+$/, 'expected host:port').default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('customer-lifecycle'),
  /**
   * The Temporal Web UI, for links to runs in API answers. Outside production it defaults to the
   * dev server's UI; in production links are left out unless it is set.
   */
  TEMPORAL_UI_URL: z.url({ protocol: /^https?$/ }).optional(),
  SMTP_URL: z.url({ protocol: /^smtps?$/ }).default('smtp://localhost:1025'),
  MAIL_FROM: z.string().min(3).default('Customer Lifecycle <no-reply@customer-lifecycle.local>'),
  /** Requests per second one API key may send across all API processes, and its burst allowance. */
  RATE_LIMIT_PER_SECOND: z.coerce.number().positive().default(100),
  RATE_LIMIT_BURST: z.coerce.number().int().min(1).default(200),
  /**
   * An in-progress Idempotency-Key is leased to its request for this long and renewed while the
   * request runs; once a lease runs out (its process died) a retry takes the key over.
   */
  IDEMPOTENCY_LEASE_MS: z.coerce.number().int().min(100).default(30_000),
  /** Largest JSON body the API accepts. */
  BODY_LIMIT: z.string().default('1mb'),
  /**
   * Delays before each retry of a failed webhook delivery (Svix's schedule by default): a delivery
   * gets one attempt more than there are delays, then it is `failed`.
   */
  WEBHOOK_RETRY_SCHEDULE: durationList('5s,5m,30m,2h,5h,10h,10h'),
  /** Delays before each retry of a receipt, refund notice or notification the SMTP server certainly did not take; then it is `failed`. */
  MESSAGE_RETRY_SCHEDULE: durationList('10s,30s,1m,5m,15m,30m,1h,2h,4h'),
  /** Total deadline of one delivery attempt, from connecting until the status and headers are read. */
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(10_000),
  /**
   * Keys that encrypt secrets at rest (webhook signing secrets): `<id>:<base64 of 32 bytes>`,
   * comma-separated; the first encrypts, all decrypt. The unsubscribe-link key and the suppression
   * list's hash key derive from them. Required in production; elsewhere a fixed development key
   * is used, which protects nothing. `main.js secrets generate` makes one.
   */
  SECRETS_ENCRYPTION_KEYS: z
    .string()
    .optional()
    .refine((value) => {
      if (value === undefined) return true;
      try {
        SecretBox.parse(value);
        return true;
      } catch {
        return false;
      }
    }, 'expected <key id>:<base64 of 32 bytes>[,<key id>:<base64 key>...]'),
  /** Allow webhook URLs on loopback or private networks: for local development only. */
  WEBHOOK_ALLOW_PRIVATE_TARGETS: z.stringbool().default(false),
  /** On SIGTERM the worker lets activities in flight finish for up to this long, then cancels them. */
  WORKER_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(30_000),
  /** How long the outbox relay sleeps when it finds no event to hand to the event bus. */
  OUTBOX_RELAY_INTERVAL_MS: z.coerce.number().int().min(10).default(200),
  /** Period of the worker's housekeeping: idempotency purge, retention, stuck-deletion and webhook reconcilers. */
  HOUSEKEEPING_INTERVAL_MS: z.coerce.number().int().min(50).default(15_000),
  /**
   * Retention, pruned by the worker's housekeeping: dispatched events older than this are deleted
   * (once no webhook delivery refers to them), finished webhook deliveries likewise, and the
   * rendered subject and facts of finished messages are blanked (the rows, statuses and keys stay).
   */
  EVENT_RETENTION: duration('30d').refine((ms) => ms > 0, 'expected a duration longer than 0'),
  WEBHOOK_DELIVERY_RETENTION: duration('30d').refine((ms) => ms > 0, 'expected a duration longer than 0'),
  MESSAGE_BODY_RETENTION: duration('90d').refine((ms) => ms > 0, 'expected a duration longer than 0'),
  /** Rows one prune statement removes or blanks per table, and the pause before the next while more are due. */
  RETENTION_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(500),
  RETENTION_PAUSE_MS: z.coerce.number().int().min(0).default(1_000),
  /** A `running` deletion unchanged for this long is checked for a live workflow and restarted. */
  DELETION_STUCK_AFTER_MS: z.coerce.number().int().min(100).default(60_000),
  /** Objects a billing step of the deletion saga changes per transaction (subscriptions, drafts...). */
  DELETION_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(100),
  /**
   * Where links in messages (unsubscribe) point: the API's public address. Required in production;
   * elsewhere this machine's PORT.
   */
  PUBLIC_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  /**
   * Key of the HMAC that signs unsubscribe links (changing it invalidates links already sent).
   * Unset: derived from SECRETS_ENCRYPTION_KEYS, so production needs no secret of its own.
   */
  UNSUBSCRIBE_SIGNING_SECRET: z.string().min(16).optional(),
  /**
   * `twilio` sends SMS through Twilio; `dev` only records them (shown in the mail catcher), and is
   * refused in production; `none`: SMS steps are skipped (`no SMS provider configured`).
   * Unset: `dev`, and `none` in production.
   */
  SMS_PROVIDER: z.enum(['none', 'dev', 'twilio']).optional(),
  TWILIO_ACCOUNT_SID: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'expected an account SID such as AC0123...').optional(),
  TWILIO_AUTH_TOKEN: z.string().min(1).optional(),
  /** The sending number, E.164. */
  TWILIO_FROM: z.string().regex(/^\+[1-9]\d{1,14}$/, 'expected an E.164 number such as +14155550123').optional(),
  /** Replaces https://api.twilio.com, for a stand-in of the Messages endpoint in tests. */
  TWILIO_API_URL: z.url({ protocol: /^https?$/ }).optional(),
  /**
   * Sequence workflows the enroller starts per second at most: a burst of enrolments (a bulk
   * tagging) is spread with start delays instead of becoming a burst of workflow tasks.
   */
  SEQUENCE_START_RATE: z.coerce.number().positive().default(100),
  /**
   * Merchants' templates render in worker threads, never on the event loop: this many per process.
   * All renders of one request (a save's check, a preview) or one send share a budget of thread
   * time; a rendered part (subject, HTML, text, SMS body) may be at most TEMPLATE_PART_MAX_BYTES.
   */
  TEMPLATE_RENDER_THREADS: z.coerce.number().int().min(1).max(16).default(2),
  TEMPLATE_RENDER_BUDGET_MS: z.coerce.number().int().min(10).max(60_000).default(2_000),
  TEMPLATE_PART_MAX_BYTES: z.coerce.number().int().min(1_024).max(10_485_760).default(131_072),
  /** A webhook endpoint counts as failing (its merchant is emailed) once a delivery failed this many attempts. */
  WEBHOOK_FAILING_AFTER_ATTEMPTS: z.coerce.number().int().min(1).default(3),
  /** When the nightly LTV rollup runs: a five-field cron expression, read in LTV_ROLLUP_TIMEZONE. */
  LTV_ROLLUP_CRON: z
    .string()
    .trim()
    .regex(/^\S+( \S+){4}$/, 'expected a five-field cron expression such as "0 2 * * *"')
    .default('0 2 * * *'),
  LTV_ROLLUP_TIMEZONE: z.string().refine(isTimeZone, 'expected an IANA time zone name such as "Europe/Paris"').default('UTC'),
  /** After an outage of Temporal, a nightly run missed by less than this still runs. */
  LTV_ROLLUP_CATCHUP_WINDOW: duration('1d'),
  /** Customers per rollup activity (one keyset range), and how many such activities run at once. */
  LTV_ROLLUP_BATCH_SIZE: z.coerce.number().int().min(1).max(1_000_000).default(25_000),
  LTV_ROLLUP_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(2),
  /** Customers per statement (and transaction) inside a batch: the step a retried batch resumes from. */
  LTV_ROLLUP_CHUNK_SIZE: z.coerce.number().int().min(1).max(100_000).default(5_000),
  /** Email each merchant with a notification address its totals and top customers after the nightly run. */
  LTV_DIGEST_ENABLED: z.stringbool().default(true),
}).superRefine((config, context) => {
  const missing = (name: keyof typeof config, message: string) => context.addIssue({ code: 'custom', path: [name], message });
  if (config.SMS_PROVIDER === 'twilio') {
    for (const name of ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_FROM'] as const) {
      if (!config[name]) missing(name, 'required when SMS_PROVIDER is twilio');
    }
  }
  // Production refuses what only development may fall back on, all in one report.
  if (config.NODE_ENV === 'production') {
    if (!config.SECRETS_ENCRYPTION_KEYS) {
      missing('SECRETS_ENCRYPTION_KEYS', 'required in production (make one with `node dist/src/main.js secrets generate`)');
    }
    if (!config.PUBLIC_BASE_URL) missing('PUBLIC_BASE_URL', 'required in production: the public address unsubscribe links point at');
    if (config.SMS_PROVIDER === 'dev') {
      missing('SMS_PROVIDER', 'dev is not allowed in production (it mails each SMS to the SMTP server): use twilio, or none to skip SMS');
    }
  }
  // Also when other variables are bad, so that one start lists every problem.
}, { when: () => true });

export type Config = z.infer<typeof ConfigSchema>;

/**
 * The keys that encrypt secrets at rest: SECRETS_ENCRYPTION_KEYS, or the development key outside
 * production (the schema refuses production without keys).
 */
export function secretBox(config: Config): SecretBox {
  return SecretBox.parse(config.SECRETS_ENCRYPTION_KEYS ?? DEVELOPMENT_SECRETS_KEY);
}

/** Which SMS provider runs: SMS_PROVIDER, or `dev` outside production and `none` in it. */
export function smsProviderName(config: Config): 'none' | 'dev' | 'twilio' {
  return config.SMS_PROVIDER ?? (config.NODE_ENV === 'production' ? 'none' : 'dev');
}

/** How LTV rollups cut their work, from the LTV_ROLLUP_* variables. */
export function ltvRollupSettings(config: Config): LtvRollupSettings {
  return { batchSize: config.LTV_ROLLUP_BATCH_SIZE, concurrency: config.LTV_ROLLUP_CONCURRENCY, chunkSize: config.LTV_ROLLUP_CHUNK_SIZE };
}

/** How merchants' templates are rendered, from the TEMPLATE_* variables. */
export function renderSettings(config: Config): RenderSettings {
  return { threads: config.TEMPLATE_RENDER_THREADS, budgetMs: config.TEMPLATE_RENDER_BUDGET_MS, maxPartBytes: config.TEMPLATE_PART_MAX_BYTES };
}

/** The Temporal Web UI base URL to link runs to, if links are wanted in this environment. */
export function temporalUiUrl(config: Config): string | undefined {
  if (config.TEMPORAL_UI_URL) return config.TEMPORAL_UI_URL.replace(/\/+$/, '');
  return config.NODE_ENV === 'production' ? undefined : 'http://localhost:8233';
}

/** The keys of unsubscribe links: sign with the first, accept any (see UNSUBSCRIBE_SIGNING_SECRET). */
export function unsubscribeSigningKeys(config: Config): string[] {
  if (config.UNSUBSCRIBE_SIGNING_SECRET) return [config.UNSUBSCRIBE_SIGNING_SECRET];
  return secretBox(config)
    .deriveKeys('unsubscribe-links')
    .map((key) => key.toString('base64url'));
}

/**
 * The keys of the suppression list's address hashes, derived from SECRETS_ENCRYPTION_KEYS: the
 * first hashes new entries, every one is matched, so entries stay effective across a rotation for
 * as long as their key is listed (`suppressions.key_id` says which key each needs).
 */
export function suppressionHashKeys(config: Config): { id: string; key: Buffer }[] {
  return secretBox(config).deriveKeyring('suppression-list');
}

/** The base URL links in messages use (the schema requires PUBLIC_BASE_URL in production). */
export function publicBaseUrl(config: Config): string {
  return (config.PUBLIC_BASE_URL ?? `http://localhost:${config.PORT}`).replace(/\/+$/, '');
}

export class ConfigError extends Error {}

/** Reads `.env` from the working directory when there is one; real environment variables win. */
export function loadDotEnv(path = '.env'): void {
  try {
    process.loadEnvFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/**
 * Parses the environment; every bad value names its variable so the operator can fix them all at
 * once. An empty value counts as unset, as Compose passes `${VAR:-}` when VAR is not set.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = ConfigSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, value]) => value !== '')));
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
  throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
}
