/** Shared plumbing for commands that talk to the database once and exit. */
import type { Command } from 'commander';
import { openDatabase, type BelfryDatabase } from '../store/database.js';
import type { Executor } from '../store/executor.js';
import { readSettings, requireDatabaseUrl } from './settings.js';

export interface DatabaseFlags {
  databaseUrl?: string;
  schema?: string;
}

export function withDatabaseFlags(command: Command): Command {
  return command
    .option('--database-url <url>', 'PostgreSQL URL (default: $DATABASE_URL)')
    .option('--schema <name>', 'Belfry schema (default: $BELFRY_SCHEMA or belfry)');
}

export async function withDatabase<T>(
  flags: DatabaseFlags,
  work: (ex: Executor, database: BelfryDatabase) => Promise<T>,
): Promise<T> {
  const settings = readSettings();
  const database = openDatabase({
    connectionString: requireDatabaseUrl(settings, flags.databaseUrl),
    schema: flags.schema ?? settings.BELFRY_SCHEMA,
    maxConnections: 2,
    applicationName: 'belfry-cli',
  });
  try {
    return await work({ db: database.db, schema: database.schema }, database);
  } finally {
    await database.destroy();
  }
}
