import type { Command } from 'commander';
import { migrate } from '../store/migrator.js';
import { withDatabase, withDatabaseFlags, type DatabaseFlags } from './database-command.js';

export function registerMigrateCommand(program: Command): void {
  withDatabaseFlags(
    program
      .command('migrate')
      .description('apply the database migrations (safe to run from several places at once)'),
  )
    .option('--json', 'machine-readable output')
    .action(async (flags: DatabaseFlags & { json?: boolean }) => {
      const result = await withDatabase(flags, (_ex, database) => migrate(database.pool, database.schema));
      if (flags.json)
        process.stdout.write(
          `${JSON.stringify({ applied: result.applied.map((m) => m.name), current: result.current })}\n`,
        );
      else if (result.applied.length === 0)
        process.stdout.write(`schema is current (version ${result.current})\n`);
      else
        process.stdout.write(
          `applied ${result.applied.map((m) => m.name).join(', ')} (now at version ${result.current})\n`,
        );
    });
}
