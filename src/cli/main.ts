#!/usr/bin/env node
/**
 * The `belfry` command. The only place that reads the environment (through settings.ts) and, with the
 * long-running commands, installs signal handlers.
 *
 * A failure ends as one line on stderr (what, where, what to do: failure-message.ts) and exit code 1;
 * `--verbose` prints the stack instead. Every command accepts `--verbose` (apply's also lists the
 * unchanged definitions).
 */
import { Command } from 'commander';
import { checkDatabaseUrl, describeFailure, describeFailureVerbose } from './failure-message.js';
import { SettingsError } from './settings.js';
import { BELFRY_VERSION } from '../scheduler.js';
import { registerStartCommand } from './start-command.js';
import { registerMigrateCommand } from './migrate-command.js';
import { registerDevCommand } from './dev-command.js';
import { registerHistoryCommand } from './history-command.js';
import { registerClusterCommands } from './cluster-commands.js';
import { registerAuditCommand } from './audit-command.js';
import { registerTriggerCommands } from './trigger-commands.js';
import { registerValidateCommand } from './validate-command.js';
import { registerApplyCommand } from './apply-command.js';
import { registerSchemaCommand } from './schema-command.js';
import { registerNextCommand } from './next-command.js';
import { registerOperationCommands } from './operation-commands.js';
import { registerServicesCommand } from './services-command.js';

const program = new Command()
  .name('belfry')
  .description('Belfry: a clustered job scheduler on PostgreSQL')
  .version(BELFRY_VERSION)
  .showSuggestionAfterError();

registerStartCommand(program);
registerDevCommand(program);
registerMigrateCommand(program);
registerHistoryCommand(program);
registerClusterCommands(program);
registerTriggerCommands(program);
registerAuditCommand(program);
registerValidateCommand(program);
registerApplyCommand(program);
registerSchemaCommand(program);
registerNextCommand(program);
registerOperationCommands(program);
registerServicesCommand(program);

for (const command of leafCommands(program)) {
  if (!command.options.some((option) => option.long === '--verbose'))
    command.option('--verbose', 'on failure, print the stack');
}

let running: Command | undefined;
program.hook('preAction', (_program, command) => {
  running = command;
  // A malformed URL is reported as such, before the driver misreads it as a host name.
  if (!command.options.some((option) => option.long === '--database-url')) return;
  const flag = command.opts<{ databaseUrl?: string }>().databaseUrl;
  const url = flag ?? process.env.DATABASE_URL;
  const problem = url ? checkDatabaseUrl(url, flag ? '--database-url' : 'DATABASE_URL') : undefined;
  if (problem) throw new SettingsError(problem);
});

program.parseAsync(process.argv).catch((error: unknown) => {
  const verbose =
    running?.opts<{ verbose?: boolean }>().verbose === true || process.argv.slice(2).includes('--verbose');
  process.stderr.write(
    verbose ? `belfry: ${describeFailureVerbose(error)}\n` : `belfry: ${describeFailure(error)}\n`,
  );
  process.exit(1);
});

function leafCommands(command: Command): Command[] {
  return command.commands.length ? command.commands.flatMap(leafCommands) : [command];
}
