/**
 * The testing kit's clock in the database (docs/decisions/0008-test-clock.md).
 *
 * Every store statement reads time through `belfry_now()` / `belfry_clock()` (migration 0010), which are
 * plain `now()` / `clock_timestamp()` in a migrated schema. `installTestClock` turns a FRESH schema into
 * a test-mode one: a one-row `test_clock` table holds an offset in ms, and both functions are redefined to
 * add it. Only the testing kit calls it, and it refuses a schema that ever registered a replica or
 * recorded a fire, so an operator's schema can never have its time moved. The offset only grows: the
 * engine's promises (a trigger never fires before its time, history in order) assume time goes forward.
 */
import { sql } from 'kysely';
import { BelfryError } from '../errors/belfry-error.js';
import { camelRow } from './camel-row.js';
import { changeChannel, dbNow, table, type Executor } from './executor.js';

const MARKER = 'belfry test clock';

/** Installs the offset clock in a fresh schema. Idempotent on a schema that already has it. */
export async function installTestClock(ex: Executor): Promise<void> {
  const { rows } = await sql<{ used: boolean; installed: boolean }>`
    SELECT EXISTS (SELECT 1 FROM ${table(ex, 'instances')}) OR EXISTS (SELECT 1 FROM ${table(ex, 'fires')}) AS used,
           to_regclass(${`${ex.schema}.test_clock`}::text) IS NOT NULL AS installed`.execute(ex.db);
  if (rows[0]?.installed) return;
  if (rows[0]?.used)
    throw new BelfryError(
      'BELFRY_ERR_TEST_CLOCK',
      `schema "${ex.schema}" already ran a replica or recorded fires: the test clock is installed only in a schema the testing kit creates`,
    );
  const clockTable = sql.id(ex.schema, 'test_clock');
  await sql`CREATE TABLE ${clockTable} (
      singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
      offset_ms float8 NOT NULL DEFAULT 0)`.execute(ex.db);
  await sql`INSERT INTO ${clockTable} DEFAULT VALUES`.execute(ex.db);
  // Function bodies are text: the schema-qualified table name is spelled into them once, here.
  const offset = `(SELECT offset_ms FROM "${ex.schema}".test_clock) * interval '1 millisecond'`;
  await sql`CREATE OR REPLACE FUNCTION ${sql.id(ex.schema, 'belfry_now')}() RETURNS timestamptz
      LANGUAGE sql STABLE PARALLEL SAFE AS ${sql.lit(`SELECT now() + ${offset}`)}`.execute(ex.db);
  await sql`CREATE OR REPLACE FUNCTION ${sql.id(ex.schema, 'belfry_clock')}() RETURNS timestamptz
      LANGUAGE sql VOLATILE PARALLEL SAFE AS ${sql.lit(`SELECT clock_timestamp() + ${offset}`)}`.execute(
    ex.db,
  );
  await sql`COMMENT ON TABLE ${clockTable} IS ${sql.lit(MARKER)}`.execute(ex.db);
}

/** How far back a move may look, from clock noise between the kit and the database, before it is refused. */
const BACKWARD_TOLERANCE_MS = 1_000;

/**
 * Moves the schema's clock so that it reads `at` now, by the database's own real clock (so a database
 * host whose clock differs from the kit's still lands on `at`). Never back: a move more than a second
 * into the clock's past is refused with BELFRY_ERR_TEST_CLOCK, a smaller one (clock noise) leaves it.
 */
export async function moveTestClock(ex: Executor, params: { at: Date; notify?: string }): Promise<void> {
  // With `notify`, the replicas' wake-up is sent by the same statement (delivered when it commits).
  const { rows } = await sql<{ offset_ms: number; wanted_ms: number }>`
    WITH wanted AS (
      SELECT (extract(epoch FROM ${params.at}::timestamptz - clock_timestamp()) * 1000)::float8 AS ms
    ), moved AS (
      UPDATE ${sql.id(ex.schema, 'test_clock')} SET offset_ms = greatest(offset_ms, (SELECT ms FROM wanted))
      RETURNING offset_ms)
    SELECT offset_ms, (SELECT ms FROM wanted) AS wanted_ms,
           ${params.notify === undefined ? sql`NULL` : sql`pg_notify(${changeChannel(ex.schema)}, ${params.notify})`} AS notified
      FROM moved`.execute(ex.db);
  if (rows.length === 0)
    throw new BelfryError('BELFRY_ERR_TEST_CLOCK', `schema "${ex.schema}" has no test clock`);
  const { offset_ms: offset, wanted_ms: wanted } = rows[0]!;
  if (wanted < offset - BACKWARD_TOLERANCE_MS)
    throw new BelfryError(
      'BELFRY_ERR_TEST_CLOCK',
      `the test clock only moves forward (asked ${params.at.toISOString()}, ${Math.round(offset - wanted)} ms before its time)`,
    );
}

/** The database's time as the store sees it (`belfry_now()` outside a transaction: this statement's). */
export async function readDatabaseTime(ex: Executor): Promise<Date> {
  const { rows } = await sql<{ now: Date }>`SELECT ${sql.id(ex.schema, 'belfry_clock')}() AS now`.execute(
    ex.db,
  );
  return rows[0]!.now;
}

/** The plan PostgreSQL makes for reading the time, to check that the production function is inlined. */
export async function explainTimeRead(ex: Executor): Promise<string> {
  const { rows } = await sql<{ 'QUERY PLAN': string }>`
    EXPLAIN (VERBOSE, COSTS OFF) SELECT ${sql.id(ex.schema, 'belfry_now')}() AS now`.execute(ex.db);
  return rows.map((row) => row['QUERY PLAN']).join('\n');
}

/** What the engine still owes at a database time, for the testing kit's "everything due has fired". */
export interface OwedWork {
  /** Triggers (of unpaused jobs) due or waiting for their replan at `at`. */
  dueTriggers: number;
  /** Pending executions (catch-ups, retries) due at `at`. */
  dueExecutions: number;
  /** Executions running now. */
  running: number;
  /** The earliest next fire, replan or pending execution, due or not; null when there is none. */
  nextAt: Date | null;
}

export async function owedWork(ex: Executor, params: { at: Date }): Promise<OwedWork> {
  const waiting = sql`FROM ${table(ex, 'triggers')} t JOIN ${table(ex, 'jobs')} j ON j.name = t.job_name
                     WHERE t.state = 'waiting' AND NOT j.paused`;
  const { rows } = await sql<{
    due_triggers: number;
    due_executions: number;
    running: number;
    next_at: Date | null;
  }>`
    WITH at AS MATERIALIZED (
      -- Due by the later of the caller's time and this statement's: an attempt a replica recorded pending
      -- after the caller read its clock, but committed before this snapshot, has a run_at past the
      -- caller's time and must still count as due (else the cluster looked settled with work pending).
      SELECT greatest(${params.at}::timestamptz, ${dbNow(ex)}) AS at
    )
    SELECT (SELECT count(*) ${waiting} AND least(t.next_fire_at, t.replan_at) <= (SELECT at FROM at))::int
             AS due_triggers,
           (SELECT count(*) FROM ${table(ex, 'executions')} e
             WHERE e.status = 'pending' AND e.run_at <= (SELECT at FROM at))::int AS due_executions,
           (SELECT count(*) FROM ${table(ex, 'executions')} e WHERE e.status = 'running')::int AS running,
           least((SELECT min(least(t.next_fire_at, t.replan_at)) ${waiting}),
                 (SELECT min(e.run_at) FROM ${table(ex, 'executions')} e WHERE e.status = 'pending')) AS next_at`.execute(
    ex.db,
  );
  return camelRow(rows[0]!);
}

/** Drops a schema the testing kit created (one with a test clock); any other schema is left alone. */
export async function dropTestSchema(ex: Executor): Promise<boolean> {
  const { rows } = await sql<{ installed: boolean }>`
    SELECT to_regclass(${`${ex.schema}.test_clock`}::text) IS NOT NULL AS installed`.execute(ex.db);
  if (!rows[0]?.installed) return false;
  await sql`DROP SCHEMA ${sql.id(ex.schema)} CASCADE`.execute(ex.db);
  return true;
}
