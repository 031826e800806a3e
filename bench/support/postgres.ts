/**
 * The benchmark's own PostgreSQL: one embedded server per run (data under `.tmp/bench-pg-*`, removed at
 * the end), one database per system so each one's `pg_stat_database` counters are its own.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, rmSync, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../src/dev/embedded-postgres.js';
import { onCleanup } from './cleanup.js';

export interface BenchServer {
  /** URL of the maintenance database (`postgres`). */
  readonly url: string;
  readonly dataDir: string;
  urlFor(database: string): string;
  /** Drops (if present) and creates a database. */
  createDatabase(name: string): Promise<string>;
  /** Committed plus rolled-back transactions of a database so far (pg_stat_database). */
  transactions(database: string): Promise<number>;
  /** Server version, e.g. "18.0". */
  version(): Promise<string>;
  /** With `statements`: forget the statement statistics so far. */
  resetStatements(): Promise<void>;
  /** With `statements`: the statements run in `database` since the last reset, most time first. */
  statements(database: string, limit: number): Promise<StatementStats[]>;
  stop(): Promise<void>;
}

/** One statement's totals from pg_stat_statements (time spent in PostgreSQL executing it). */
export interface StatementStats {
  calls: number;
  totalMs: number;
  rows: number;
  /** The statement's text as pg_stat_statements normalized it (constants as $n). */
  query: string;
}

export interface BenchServerOptions {
  prefix?: string;
  maxConnections?: number;
  /** Append the server's log here (diagnostics). */
  logFile?: string;
  /** Log every statement that takes at least this long (0: all), with ms timestamps, to `logFile`. */
  logMinDurationMs?: number;
  /**
   * Load pg_stat_statements (which must be preloaded: the server starts twice) and create it in the
   * maintenance database; read it with `statements()`.
   */
  statements?: boolean;
}

export async function startBenchServer(options: BenchServerOptions = {}): Promise<BenchServer> {
  const dataDir = join(
    process.cwd(),
    '.tmp',
    `${options.prefix ?? 'bench-pg'}-${randomBytes(4).toString('hex')}`,
  );
  const removeDir = () => rmSync(dataDir, { recursive: true, force: true });
  const unregisterDir = onCleanup('remove PostgreSQL data', removeDir);
  let logStream: WriteStream | undefined;
  if (options.logFile) {
    mkdirSync(dirname(options.logFile), { recursive: true });
    logStream = createWriteStream(options.logFile, { flags: 'a' });
  }
  const start = (port?: number) =>
    startEmbeddedPostgres({
      dataDir,
      port,
      persistent: options.statements,
      maxConnections: options.maxConnections ?? 300,
      env: process.env,
      onLog: logStream ? (line) => logStream.write(line.endsWith('\n') ? line : `${line}\n`) : undefined,
    });
  let server = await start();
  if (options.statements) {
    const setup = new pg.Client({ connectionString: server.url });
    await setup.connect();
    await setup.query(`ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`);
    await setup.query(`ALTER SYSTEM SET pg_stat_statements.track = 'all'`);
    await setup.end();
    const port = server.port;
    await server.stop();
    server = await start(port);
  }
  // The statistics reader is a separate client on the maintenance database, so reading the counters
  // adds nothing to the counters of the databases it reads.
  const admin = new pg.Client({ connectionString: server.url, application_name: 'bench-admin' });
  await admin.connect();
  if (options.statements) await admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  if (options.logMinDurationMs !== undefined) {
    await admin.query(
      `ALTER SYSTEM SET log_min_duration_statement = ${Math.trunc(options.logMinDurationMs)}`,
    );
    await admin.query(`ALTER SYSTEM SET log_line_prefix = '%m [%p] %a '`);
    await admin.query('SELECT pg_reload_conf()');
  }
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await admin.end().catch(() => {});
      await server.stop();
      logStream?.end();
      removeDir();
    })());
  const unregisterServer = onCleanup('stop PostgreSQL', stop);
  const urlFor = (database: string) => {
    const url = new URL(server.url);
    url.pathname = `/${database}`;
    return url.toString();
  };
  return {
    url: server.url,
    dataDir,
    urlFor,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${name}`);
      return urlFor(name);
    },
    async transactions(database) {
      const { rows } = await admin.query<{ n: string }>(
        'SELECT (xact_commit + xact_rollback)::text AS n FROM pg_stat_database WHERE datname = $1',
        [database],
      );
      return Number(rows[0]?.n ?? 0);
    },
    async resetStatements() {
      await admin.query('SELECT pg_stat_statements_reset()');
    },
    async statements(database, limit) {
      const { rows } = await admin.query<{ calls: string; ms: number; rows: string; query: string }>(
        `SELECT calls::text, total_exec_time AS ms, rows::text, query
           FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1)
          ORDER BY total_exec_time DESC LIMIT $2`,
        [database, limit],
      );
      return rows.map((row) => ({
        calls: Number(row.calls),
        totalMs: row.ms,
        rows: Number(row.rows),
        query: row.query,
      }));
    },
    async version() {
      const { rows } = await admin.query<{ v: string }>(`SELECT current_setting('server_version') AS v`);
      return rows[0]!.v;
    },
    async stop() {
      await stop();
      unregisterServer();
      unregisterDir();
    },
  };
}
