/**
 * A fresh, migrated Belfry schema per test file: the cheapest isolation that lets services run their
 * own transactions against the shared server.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, inject } from 'vitest';
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

/**
 * A migrated schema of its own for the calling test file: created before the file's first test, dropped
 * after its last. Call it at the top level of the file, before the file's own hooks, so that its
 * `afterAll` runs last (vitest runs after-hooks in reverse) and the schema outlives whatever the file
 * stops in its own `afterAll`.
 *
 * The returned handle is empty until the `beforeAll` has run, then holds the database's fields (db, pool,
 * schema, ...): read it inside hooks and tests, never at the file's top level.
 */
export function useTestSchema(options: { migrate?: boolean } = {}): BelfryDatabase {
  const handle = {} as BelfryDatabase;
  let opened: BelfryDatabase | undefined;
  beforeAll(async () => {
    opened = await createTestDatabase(options);
    Object.assign(handle, opened);
  });
  afterAll(async () => {
    if (opened) await dropTestDatabase(opened);
  });
  return handle;
}
