#!/usr/bin/env node
/** The `belfry` command. The only place that installs signal handlers and reads the environment. */
import { Command } from 'commander';
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

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`belfry: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
