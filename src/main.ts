import { describeFailure, usageText, type Command } from './cli/command.js';
import { eventsEntrypoint } from './cli/events.js';
import { merchantCommand } from './cli/merchant.js';
import { apiRole, migrateRole, workerRole } from './cli/roles.js';
import { secretsCommand } from './cli/secrets.js';
import { loadDotEnv } from './config.js';

/**
 * The entrypoint of the image and of `npm run start:*`: `node dist/src/main.js <command> ...`.
 * Every command an operator needs is listed here; a new one lives in its own file in src/cli/.
 */
const COMMANDS: Command[] = [apiRole, workerRole, migrateRole, merchantCommand, eventsEntrypoint, secretsCommand];

const [name, ...args] = process.argv.slice(2);
const command = COMMANDS.find((candidate) => candidate.name === name);
if (!command) {
  const asked = name === 'help' || name === '--help' || name === '-h';
  (asked ? console.log : console.error)(usageText(COMMANDS));
  process.exit(asked ? 0 : 2);
}
loadDotEnv();
command.run(args).catch((error: unknown) => {
  console.error(describeFailure(error));
  process.exit(1);
});
