/**
 * Opens Belfry's connection pool and the Kysely instance bound to the Belfry schema.
 *
 * Every table lives in one schema (default `belfry`) so Belfry can share an application's database.
 * Queries reach it through Kysely's `withSchema`, never through `search_path`, because poolers in
 * transaction mode do not keep session settings.
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './tables.js';
import { connectionOptions } from './primary-connection.js';

export type Db = Kysely<Database>;

export interface DatabaseOptions {
  connectionString: string;
  schema?: string;
  /** Pool size per replica. */
  maxConnections?: number;
  /** Server-side cap on any single statement, so a stuck query cannot stall a loop forever. */
  statementTimeoutMs?: number;
  /**
   * How long a connection may sit idle inside an open transaction before the server ends its session.
   * Default 30 s; a scheduler sets its `deadAfterMs` (see scheduler.ts).
   */
  idleInTransactionTimeoutMs?: number;
  applicationName?: string;
  /** Called for errors on idle pooled connections (a terminated backend, say); they are never fatal. */
  onIdleError?: (error: Error) => void;
}

export interface BelfryDatabase {
  readonly db: Db;
  readonly pool: pg.Pool;
  readonly schema: string;
  readonly connectionString: string;
  destroy(): Promise<void>;
}

export const DEFAULT_SCHEMA = 'belfry';

export function assertSchemaName(schema: string): void {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`schema name "${schema}" must be lower-case letters, digits and underscores`);
  }
}

export function openDatabase(options: DatabaseOptions): BelfryDatabase {
  const schema = options.schema ?? DEFAULT_SCHEMA;
  assertSchemaName(schema);
  const pool = new pg.Pool({
    // A multi-host URL (or target_session_attrs=read-write) reaches only the writable primary.
    ...connectionOptions(options.connectionString),
    max: options.maxConnections ?? 10,
    statement_timeout: options.statementTimeoutMs ?? 30_000,
    // A replica frozen mid-transaction (SIGSTOP, a debugger) must not hold trigger locks forever.
    idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs ?? 30_000,
    application_name: options.applicationName ?? 'belfry',
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  });
  pool.on('error', (error) => options.onIdleError?.(error));
  // pg-pool removes its error listener while a client is checked out; a connection that dies then (a
  // database restart, pg_terminate_backend) would emit an unhandled 'error' and crash the process. The
  // failing query already rejects, so the event itself only needs a listener.
  pool.on('connect', (client) => client.on('error', (error) => options.onIdleError?.(error)));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }).withSchema(schema);
  let destroyed: Promise<void> | undefined;
  return {
    db,
    pool,
    schema,
    connectionString: options.connectionString,
    destroy: () => (destroyed ??= db.destroy()),
  };
}
