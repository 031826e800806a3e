/**
 * A fresh, migrated Belfry schema per test file: the cheapest isolation that lets services run their
 * own transactions against the shared server.
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { openDatabase, type BelfryDatabase } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrator.js';

export function testDatabaseUrl(): string {
  return inject('databaseUrl');
}

export function uniqueSchema(prefix = 't'): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

export async function createTestDatabase(
  options: { schema?: string; migrate?: boolean } = {},
): Promise<BelfryDatabase> {
  const database = openDatabase({
    connectionString: testDatabaseUrl(),
    schema: options.schema ?? uniqueSchema(),
    maxConnections: 5,
  });
  if (options.migrate !== false) await migrate(database.pool, database.schema);
  return database;
}

export async function dropTestDatabase(database: BelfryDatabase): Promise<void> {
  await database.pool.query(`DROP SCHEMA IF EXISTS "${database.schema}" CASCADE`);
  await database.destroy();
}
