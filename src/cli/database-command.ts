/** Shared plumbing for commands that talk to the database once and exit. */
import type { Command } from 'commander';
import { openDatabase, type BelfryDatabase } from '../store/database.js';
import type { Executor } from '../store/executor.js';
import { chooseDatabase, localClusterNotice } from './local-cluster.js';
import { explicitSchema, readSettings, type Settings } from './settings.js';

export interface DatabaseFlags {
  databaseUrl?: string;
  schema?: string;
}

export function withDatabaseFlags(command: Command): Command {
  return command
    .option(
      '--database-url <url>',
      "PostgreSQL URL (default: $DATABASE_URL, else this project's running `belfry dev`)",
    )
    .option('--schema <name>', 'Belfry schema (default: $BELFRY_SCHEMA or belfry)');
}

export async function withDatabase<T>(
  flags: DatabaseFlags,
  work: (ex: Executor, database: BelfryDatabase) => Promise<T>,
): Promise<T> {
  const settings = readSettings();
  const choice = databaseOf(settings, flags.databaseUrl);
  const database = openDatabase({
    connectionString: choice.url,
    schema: schemaOf(settings, flags.schema, choice),
    maxConnections: 2,
    applicationName: 'belfry-cli',
  });
  try {
    return await work({ db: database.db, schema: database.schema }, database);
  } finally {
    await database.destroy();
  }
}

/**
 * The database a command was given, else the project's running `belfry dev`, which it then names in one
 * line on stderr (stdout stays the command's own: `--json` output remains parseable).
 */
export function databaseOf(settings: Settings, flag: string | undefined): { url: string; schema?: string } {
  const choice = chooseDatabase(settings, flag, process.cwd());
  if (choice.localFolder) process.stderr.write(localClusterNotice(choice.localFolder, process.stderr.isTTY));
  return choice;
}

/**
 * --schema, else BELFRY_SCHEMA when set (it names the schema the user means), else the local cluster's
 * schema, else the default.
 */
export function schemaOf(settings: Settings, flag: string | undefined, choice: { schema?: string }): string {
  return flag ?? explicitSchema() ?? choice.schema ?? settings.BELFRY_SCHEMA;
}
