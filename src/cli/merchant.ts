// Merchant and API key administration, a command of the entrypoint (`node dist/src/main.js merchant ...`,
// `npm run merchant:<subcommand> -- ...` from the sources).
import { z } from 'zod';
import { createDb } from '../db.js';
import { UpdateSettingsBody, type SettingsObject } from '../merchants/merchant.schemas.js';
import { MerchantService } from '../merchants/merchant.service.js';
import { CommandError, commandDatabaseUrl, type Command } from './command.js';

const SETTINGS_USAGE =
  'usage: merchant settings <merchant id> [--environment sandbox|live] [notification_email=<address|none>] [timezone=<IANA zone>] [name=<name>] [support_email=<address|none>]';
const ENVIRONMENTS = ['sandbox', 'live'] as const;

/** `key=value` arguments as the settings body the API takes (`none` clears the notification or support address). */
function settingsBody(assignments: string[]): UpdateSettingsBody {
  const fields: Record<string, string | null> = {};
  for (const assignment of assignments) {
    const [key, ...rest] = assignment.split('=');
    if (!key || rest.length === 0) throw new CommandError(SETTINGS_USAGE);
    const value = rest.join('=');
    fields[key] = (key === 'notification_email' || key === 'support_email') && value === 'none' ? null : value;
  }
  const parsed = UpdateSettingsBody.safeParse(fields);
  if (!parsed.success) throw new CommandError(parsed.error.issues.map((issue) => `${issue.path.join('.') || 'settings'}: ${issue.message}`).join('\n'));
  return parsed.data;
}

/**
 * `settings <merchant id> [--environment <env>] [key=value...]`: the environments it reads or
 * changes (both without the option) and the assignments.
 */
function settingsArguments(args: string[]): { environments: ('sandbox' | 'live')[]; assignments: string[] } {
  const assignments: string[] = [];
  let chosen: 'sandbox' | 'live' | undefined;
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    if (arg === '--environment' || arg.startsWith('--environment=')) {
      chosen = environment(arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : args[++index]);
    } else if (arg.startsWith('--')) {
      throw new CommandError(SETTINGS_USAGE);
    } else {
      assignments.push(arg);
    }
  }
  return { environments: chosen ? [chosen] : [...ENVIRONMENTS], assignments };
}

function formatSettings(settings: SettingsObject): string {
  return (
    `environment         ${settings.environment}\nname                ${settings.name}\n` +
    `notification_email  ${settings.notification_email ?? 'none'}\ntimezone            ${settings.timezone}\n` +
    `support_email       ${settings.support_email ?? 'none'}`
  );
}

function environment(value: string | undefined): 'sandbox' | 'live' {
  const parsed = z.enum(['sandbox', 'live']).safeParse(value);
  if (!parsed.success) throw new CommandError(`environment must be sandbox or live, not '${value}'`);
  return parsed.data;
}

async function run(args: string[]): Promise<void> {
  const [subcommand, first, second, ...more] = args;
  const db = createDb(commandDatabaseUrl());
  const merchants = new MerchantService({ db });
  try {
    switch (subcommand) {
      case 'create': {
        if (!first) throw new CommandError('usage: merchant create <name> [sandbox|live]');
        const issued = await merchants.createMerchant(first, environment(second ?? 'sandbox'));
        console.log(`merchant ${issued.merchantId}\nkey id   ${issued.id}\n${issued.environment} API key (shown once): ${issued.key}`);
        break;
      }
      case 'issue-key': {
        if (!first || !second) throw new CommandError('usage: merchant issue-key <merchant id> <sandbox|live>');
        const issued = await merchants.issueKey(first, environment(second));
        console.log(`key id ${issued.id}\n${issued.environment} API key (shown once): ${issued.key}`);
        break;
      }
      case 'revoke-key': {
        if (!first) throw new CommandError('usage: merchant revoke-key <key id>');
        await merchants.revokeKey(first);
        console.log(`revoked ${first}`);
        break;
      }
      case 'settings': {
        if (!first) throw new CommandError(SETTINGS_USAGE);
        const { environments, assignments } = settingsArguments([second, ...more].filter((arg): arg is string => arg !== undefined));
        const body = assignments.length ? settingsBody(assignments) : undefined;
        const shown: SettingsObject[] = [];
        for (const env of environments) {
          const scope = { merchantId: first, environment: env };
          shown.push(body ? await merchants.updateSettings(scope, body) : await merchants.getSettings(scope));
        }
        console.log(`merchant            ${first}\n\n${shown.map(formatSettings).join('\n\n')}`);
        break;
      }
      default:
        throw new CommandError('usage: merchant <create|issue-key|revoke-key|settings> ...');
    }
  } finally {
    await db.$disconnect();
  }
}

export const merchantCommand: Command = {
  name: 'merchant',
  usage: [
    { args: 'create <name> [sandbox|live]', does: 'make a merchant and print its first API key (shown once)' },
    { args: 'issue-key <merchant id> <sandbox|live>', does: 'print a new API key of the merchant (shown once)' },
    { args: 'revoke-key <key id>', does: 'revoke an API key' },
    { args: 'settings <merchant id> [--environment sandbox|live] [notification_email=<address|none>] [timezone=<IANA zone>] [name=<name>] [support_email=<address|none>]', does: 'show the settings of one environment (both without --environment), or change them' },
  ],
  run,
};
