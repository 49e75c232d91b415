// Parked events, for operators: `npm run events -- parked list [--merchant <id>]`,
// `npm run events -- replay <event id>` and `npm run events -- replay --all [--merchant <id>]`
// (compiled: `node dist/src/main.js events ...`), against DATABASE_URL.
import { createDatabase, type Db } from '../db.js';
import { commandDatabaseUrl, type Command } from './command.js';
import { EventService } from '../events/event.service.js';
import type { Event } from '../generated/prisma/client.js';
import { idPattern } from '../lib/ids.js';

export const EVENTS_USAGE = [
  'usage: events parked list [--merchant <merchant id>]',
  '       events replay <event id>',
  '       events replay --all [--merchant <merchant id>]',
].join('\n');

/** Parked events listed at most: a list this long means something is broken for everyone. */
const LIST_LIMIT = 1_000;

export interface CommandOutput {
  out(line: string): void;
  err(line: string): void;
}

/** `--merchant <id>` and `--all` out of the arguments; anything else stays positional. */
function options(args: string[]): { positional: string[]; merchantId?: string; all: boolean } {
  const positional: string[] = [];
  let merchantId: string | undefined;
  let all = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--merchant') {
      merchantId = args[++i];
      if (!merchantId || !idPattern('merchant').test(merchantId)) throw new Error(`--merchant needs a merchant id (mer_...), not '${merchantId ?? ''}'`);
    } else if (arg === '--all') all = true;
    else positional.push(arg);
  }
  return { positional, merchantId, all };
}

function describe(event: Event): string {
  return [
    event.id,
    `${event.merchantId}/${event.environment}`,
    event.type,
    `attempts ${event.dispatchAttempts}`,
    event.parkedAt ? `parked ${event.parkedAt.toISOString()}` : 'pending',
    ...(event.dispatchError ? [`error: ${event.dispatchError}`] : []),
  ].join('  ');
}

/**
 * The `events` command of the entrypoint. Lists parked events (with the error that parked them,
 * which the API does not show merchants) or replays them: the worker's relay hands a replayed
 * event over within OUTBOX_RELAY_INTERVAL_MS. Resolves to the process's exit code.
 */
export async function eventsCommand(args: string[], deps: { db: Db } & CommandOutput): Promise<number> {
  const events = new EventService({ db: deps.db });
  let parsed: ReturnType<typeof options>;
  try {
    parsed = options(args);
  } catch (error) {
    deps.err(`${(error as Error).message}\n${EVENTS_USAGE}`);
    return 2;
  }
  const { positional, merchantId, all } = parsed;
  const [command, argument, ...rest] = positional;
  if (command === 'parked' && argument === 'list' && rest.length === 0 && !all) {
    const parked = await events.parked({ merchantId, limit: LIST_LIMIT });
    for (const event of parked) deps.out(describe(event));
    const more = parked.length === LIST_LIMIT ? ` (the oldest ${LIST_LIMIT}; there may be more)` : '';
    deps.out(`${parked.length} parked event${parked.length === 1 ? '' : 's'}${merchantId ? ` of ${merchantId}` : ''}${more}`);
    return 0;
  }
  if (command === 'replay' && rest.length === 0 && (all ? argument === undefined : argument !== undefined && merchantId === undefined)) {
    const replayed = await events.replayParked(all ? { merchantId } : { id: argument });
    if (!all && replayed.length === 0) {
      deps.err(`no parked event ${argument}: see events parked list`);
      return 1;
    }
    for (const event of replayed) deps.out(`replayed ${event.id}  ${event.merchantId}/${event.environment}  ${event.type}`);
    deps.out(`${replayed.length} event${replayed.length === 1 ? '' : 's'} replayed: the worker's relay hands them over within a moment`);
    return 0;
  }
  deps.err(EVENTS_USAGE);
  return 2;
}

/** `node dist/src/main.js events ...`: against DATABASE_URL, or the database of a running `npm run dev`. */
export const eventsEntrypoint: Command = {
  name: 'events',
  usage: [
    { args: 'parked list [--merchant <merchant id>]', does: 'list the events the relay parked after ten failed hand-overs' },
    { args: 'replay <event id> | --all [--merchant <merchant id>]', does: 'hand parked events to their subscribers again' },
  ],
  async run(args) {
    const database = createDatabase(commandDatabaseUrl(), 1);
    try {
      process.exitCode = await eventsCommand(args, { db: database.db, out: console.log, err: console.error });
    } finally {
      await database.close();
    }
  },
};
