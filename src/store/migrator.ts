/**
 * Applies the numbered SQL files in migrations/ to the Belfry schema.
 *
 * Safe when N replicas start at once: each migration's transaction holds a transaction-level advisory
 * lock, so one replica migrates while the others wait, then find nothing to do. Files are forward-only
 * and immutable: a changed checksum or a database that is newer than this code stops the start rather
 * than guessing.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { MigrationError } from './errors.js';
import { MIGRATION_LOCK_KEY, lockNamespace } from './lock-keys.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationResult {
  applied: Migration[];
  current: number;
}

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'migrations');

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const sql = readFileSync(join(dir, file), 'utf8');
      return {
        version: Number(file.slice(0, 4)),
        name: file.replace(/\.sql$/, ''),
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    });
}

export async function migrate(
  pool: pg.Pool,
  schema: string,
  options: { migrations?: Migration[]; lockTimeoutMs?: number } = {},
): Promise<MigrationResult> {
  const migrations = options.migrations ?? loadMigrations();
  const client = await pool.connect();
  const namespace = lockNamespace(schema);
  const quoted = `"${schema}"`;
  const lockTimeout = `${Math.trunc(options.lockTimeoutMs ?? 60_000)}ms`;
  const applied: Migration[] = [];
  try {
    // One transaction per migration, each under the transaction-level lock: nothing is left on the
    // session, so this also works through a transaction pooler (PgBouncer), where a session lock could
    // be taken on one server connection and "released" on another.
    for (;;) {
      await client.query('BEGIN');
      try {
        await client.query(`SELECT set_config('lock_timeout', $1, true)`, [lockTimeout]);
        await client.query('SELECT pg_advisory_xact_lock($1, $2)', [namespace, MIGRATION_LOCK_KEY]);
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${quoted}.schema_migrations (
             version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now())`,
        );
        const { rows } = await client.query<{ version: number; name: string; checksum: string }>(
          `SELECT version, name, checksum FROM ${quoted}.schema_migrations ORDER BY version`,
        );
        checkAppliedMigrations(rows, migrations, schema);
        const done = new Set(rows.map((row) => row.version));
        const next = migrations.find((migration) => !done.has(migration.version));
        if (!next) {
          await client.query('COMMIT');
          break;
        }
        try {
          await client.query(`SET LOCAL search_path TO ${quoted}`);
          await client.query(next.sql);
          await client.query(
            `INSERT INTO ${quoted}.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)`,
            [next.version, next.name, next.checksum],
          );
        } catch (error) {
          throw new MigrationError(`migration ${next.name} failed: ${(error as Error).message}`, {
            cause: error,
          });
        }
        await client.query('COMMIT');
        applied.push(next);
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    }
    return { applied, current: Math.max(0, ...migrations.map((m) => m.version)) };
  } finally {
    client.release();
  }
}

export interface MigrationStatus {
  /** The Belfry schema exists (it may still be empty). */
  schemaExists: boolean;
  /** The definition tables (jobs, triggers, calendars) exist, so definitions can be read. */
  tablesExist: boolean;
  applied: number;
  /** Migrations this code has that the database has not run, oldest first. */
  pending: Migration[];
}

/**
 * Where the database stands against this code's migrations, by reading only: no schema is created, no
 * lock is taken, so `apply --dry-run` can say what `migrate` would do without doing it. A database that
 * is newer than this code, or whose applied files changed, is refused exactly as `migrate` refuses it.
 */
export async function migrationStatus(
  pool: pg.Pool,
  schema: string,
  migrations = loadMigrations(),
): Promise<MigrationStatus> {
  const { rows: found } = await pool.query<{ schema: boolean; history: boolean; tables: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS schema,
            to_regclass(format('%I.schema_migrations', $1::text)) IS NOT NULL AS history,
            to_regclass(format('%I.jobs', $1::text)) IS NOT NULL
              AND to_regclass(format('%I.triggers', $1::text)) IS NOT NULL
              AND to_regclass(format('%I.calendars', $1::text)) IS NOT NULL AS tables`,
    [schema],
  );
  const { schema: schemaExists, history, tables } = found[0]!;
  const rows = history
    ? (
        await pool.query<{ version: number; name: string; checksum: string }>(
          `SELECT version, name, checksum FROM "${schema}".schema_migrations ORDER BY version`,
        )
      ).rows
    : [];
  checkAppliedMigrations(rows, migrations, schema);
  const done = new Set(rows.map((row) => row.version));
  return {
    schemaExists,
    tablesExist: tables,
    applied: rows.length,
    pending: migrations.filter((migration) => !done.has(migration.version)),
  };
}

/** True when every migration this code knows is applied (readiness). */
export async function migrationsCurrent(
  pool: pg.Pool,
  schema: string,
  migrations = loadMigrations(),
): Promise<boolean> {
  const { rows } = await pool.query<{ max: number | null }>(
    `SELECT max(version) AS max FROM "${schema}".schema_migrations`,
  );
  return (rows[0]?.max ?? 0) >= Math.max(0, ...migrations.map((m) => m.version));
}

/** Refuses a database that is newer than this code, or whose applied migration files were edited. */
function checkAppliedMigrations(
  rows: readonly { version: number; name: string; checksum: string }[],
  migrations: readonly Migration[],
  schema: string,
): void {
  const known = new Map(migrations.map((migration) => [migration.version, migration]));
  for (const row of rows) {
    const local = known.get(row.version);
    if (!local) {
      throw new MigrationError(
        `database schema "${schema}" has migration ${row.name}, which this version of Belfry does not know; upgrade Belfry`,
      );
    }
    if (local.checksum !== row.checksum) {
      throw new MigrationError(
        `migration ${row.name} was changed after it was applied; migrations are immutable`,
      );
    }
  }
}
