import { ConfigError, loadConfig } from '../config.js';
import { DATABASE_NAME, DEFAULT_EMBEDDED_PORT, embeddedDatabaseUrl } from '../dev/postgres.js';
import { ApiError } from '../lib/errors.js';

/** One command of the compiled entrypoint: `node dist/src/main.js <name> [arguments]`. */
export interface Command {
  name: string;
  /** Each form of the command, for the usage text: its arguments after the name, and what it does. */
  usage: { args: string; does: string }[];
  /** Returns once done; a role (api, worker) returns once started and runs until signalled. */
  run(args: string[]): Promise<void>;
}

/** A failure the operator can act on from its message alone (bad arguments): printed without a stack. */
export class CommandError extends Error {}

/** The usage text listing every form of every command. */
export function usageText(commands: Command[]): string {
  const forms = commands.flatMap((command) => command.usage.map((form) => `  ${`${command.name} ${form.args}`.trim()}\n      ${form.does}`));
  return ['usage: node dist/src/main.js <command> [arguments]', ...forms].join('\n');
}

/** What to print of a failure: the message of errors meant for the operator, everything of others. */
export function describeFailure(error: unknown): unknown {
  return error instanceof ConfigError || error instanceof CommandError || error instanceof ApiError ? error.message : error;
}

/** The database an operator command works on: DATABASE_URL, or (unset or empty) that of a running `npm run dev`. */
export function commandDatabaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  const databaseUrl = env.DATABASE_URL || embeddedDatabaseUrl(Number(env.EMBEDDED_POSTGRES_PORT ?? DEFAULT_EMBEDDED_PORT), DATABASE_NAME);
  return loadConfig({ ...env, DATABASE_URL: databaseUrl }).DATABASE_URL;
}
