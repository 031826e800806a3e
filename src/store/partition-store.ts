/**
 * The weekly partitions of the history (migrations/0011, docs/decisions/0011-partitioned-history.md):
 * creating the weeks ahead, and retention as a partition drop. Leader-only: callers run these inside a
 * transaction that first passed `holdsLease` (leader-store.ts).
 *
 * A week is the range [Monday 00:00 UTC, next Monday), one partition of `fires` and one of `executions`,
 * both named after the Monday (`fires_p20261130`, `executions_p20261130`) in the Belfry schema, and
 * always created and dropped together. Rows of a week without partitions land in `<table>_default`.
 *
 * Each week's DDL runs in its own SAVEPOINT, after taking all the locks it needs up front (LOCK_TIMEOUT
 * below), so a week that cannot go ahead (a lock not granted in time, rows of the week already in the
 * default partition) is undone alone and the caller's pass goes on:
 * - creating: `CREATE TABLE … (LIKE …)` then `ATTACH PARTITION`, which takes SHARE UPDATE EXCLUSIVE on
 *   the parent (firing goes on meanwhile) and scans the default partition for rows of the week (usually
 *   empty: rows land there only for weeks the leader did not create in time). A week with rows there
 *   already is never created (PostgreSQL would refuse with check_violation; an index probe finds it
 *   first): it stays in the default partition for good (the row-by-row retention covers it), reported
 *   as blocked;
 * - dropping: DETACH both partitions (ACCESS EXCLUSIVE on each parent and on `triggers`, held to the end
 *   of the caller's transaction: commit it promptly), then check, under those locks, that the week holds
 *   no `pending` or `running` attempt; when it does, the detach is rolled back and the week is left to
 *   the row-by-row retention.
 */
import { sql } from 'kysely';
import { classifyDatabaseError, sqlState } from './errors.js';
import { dbNow, type Executor } from './executor.js';

/** The tables partitioned by week, in the order their locks are taken. */
const HISTORY_TABLES = ['fires', 'executions'] as const;

/**
 * How long the upkeep waits for each of its locks. Its DDL takes strong locks on tables the hot path
 * reads and writes in no single order (an ATTACH: the default partitions ACCESS EXCLUSIVE and `triggers`
 * SHARE ROW EXCLUSIVE, for the cloned foreign keys; a drop: the parents and `triggers` ACCESS EXCLUSIVE),
 * so a lock cycle with a firing or completing transaction is possible. The upkeep takes all of a step's
 * locks up front, one statement right after another, each wait capped far below PostgreSQL's
 * deadlock_timeout (1 s): in a cycle the upkeep's wait ends first and it gives way, the hot path never
 * gets the deadlock error, and waits at most this long behind the upkeep's queued request.
 */
const LOCK_TIMEOUT = '200ms';

export interface HistoryWeek {
  /** Monday 00:00 UTC. */
  start: Date;
  /** YYYYMMDD of the Monday: the partitions are `fires_p<suffix>` and `executions_p<suffix>`. */
  suffix: string;
}

export interface EnsuredPartitions {
  /** Weeks created by this call. */
  created: HistoryWeek[];
  /** Weeks that could not be created because the default partition already holds rows of them. */
  blocked: HistoryWeek[];
  /** Weeks not created for another reason (a lock not granted in time, ...), with the error. */
  failed: { week: HistoryWeek; error: Error }[];
}

const WEEK_MS = 7 * 86_400_000;

function weekOf(start: Date): HistoryWeek {
  return { start, suffix: start.toISOString().slice(0, 10).replaceAll('-', '') };
}

function partitionName(table: (typeof HISTORY_TABLES)[number], week: HistoryWeek): string {
  return `${table}_p${week.suffix}`;
}

/** A timestamp literal for DDL, which takes no parameters: an ISO string of a Date, nothing else. */
function timeLiteral(at: Date) {
  return sql.lit(at.toISOString());
}

/**
 * Makes sure the weeks from the current one (by the database clock) through `weeksAhead` weeks ahead
 * have their partitions, creating those missing. Never throws for a week it could not create: that week
 * is reported, and its rows go to the default partition meanwhile.
 */
export async function ensureHistoryPartitions(
  ex: Executor,
  params: { weeksAhead: number; now?: Date },
): Promise<EnsuredPartitions> {
  requireTransaction(ex);
  const { rows } = await sql<{ start: Date; present: boolean; in_default: boolean }>`
    SELECT w AS start,
           to_regclass(format('%I.%I', ${ex.schema}::text, 'fires_p' || to_char(w AT TIME ZONE 'UTC', 'YYYYMMDD'))) IS NOT NULL
             AND to_regclass(format('%I.%I', ${ex.schema}::text, 'executions_p' || to_char(w AT TIME ZONE 'UTC', 'YYYYMMDD'))) IS NOT NULL
             AS present,
           -- Rows of the week already in a default partition: an index probe, instead of an ATTACH that
           -- would lock and scan the default partition only to be refused.
           EXISTS (SELECT 1 FROM ${sql.id(ex.schema, 'fires_default')} f
                    WHERE f.scheduled_at >= w AND f.scheduled_at < w + interval '1 week')
             OR EXISTS (SELECT 1 FROM ${sql.id(ex.schema, 'executions_default')} e
                         WHERE e.scheduled_at >= w AND e.scheduled_at < w + interval '1 week') AS in_default
      FROM generate_series(date_trunc('week', ${dbNow(ex, params.now)} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
                           date_trunc('week', ${dbNow(ex, params.now)} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                             + ${params.weeksAhead} * interval '1 week',
                           interval '1 week') w
     ORDER BY w`.execute(ex.db);
  const result: EnsuredPartitions = { created: [], blocked: [], failed: [] };
  for (const row of rows) {
    if (row.present) continue;
    const week = weekOf(row.start);
    if (row.in_default) {
      result.blocked.push(week);
      continue;
    }
    try {
      await inSavepoint(ex, async () => {
        await lockAll(ex, 'SHARE UPDATE EXCLUSIVE', ['fires', 'executions'], { only: true });
        await lockAll(ex, 'SHARE ROW EXCLUSIVE', ['triggers']);
        await lockAll(ex, 'ACCESS EXCLUSIVE', ['fires_default', 'executions_default']);
        for (const parent of HISTORY_TABLES) {
          const partition = sql.id(ex.schema, partitionName(parent, week));
          await sql`CREATE TABLE IF NOT EXISTS ${partition}
                      (LIKE ${sql.id(ex.schema, parent)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`.execute(
            ex.db,
          );
          await sql`ALTER TABLE ${sql.id(ex.schema, parent)} ATTACH PARTITION ${partition}
                      FOR VALUES FROM (${timeLiteral(week.start)}) TO (${timeLiteral(new Date(week.start.getTime() + WEEK_MS))})`.execute(
            ex.db,
          );
        }
        return true;
      });
      result.created.push(week);
    } catch (error) {
      rethrowIfConnectionLost(error);
      // check_violation: the default partition holds rows of this week.
      if (sqlState(error) === '23514') result.blocked.push(week);
      else result.failed.push({ week, error: error as Error });
    }
  }
  return result;
}

export interface DroppedWeeks {
  /** Partitions dropped (fires_p… and executions_p… of each week), oldest week first. */
  dropped: string[];
  /** Expired weeks kept because they still hold a pending or running attempt. */
  unfinished: HistoryWeek[];
  /** Expired weeks not dropped for another reason (a lock not granted in time, ...), with the error. */
  failed: { week: HistoryWeek; error: Error }[];
  /** More expired weeks wait than `limit` let this call look at. */
  more: boolean;
}

/**
 * Retention as a partition drop: each week that ended at or before the cutoff (the database clock minus
 * `retentionMs`), whose attempts are all finished, loses both its partitions, oldest first, at most
 * `limit` weeks per call. A week still holding an unfinished attempt is kept; the row-by-row retention
 * (retention-store.ts) deletes its finished fires, and everything expired in the default partition.
 */
export async function dropExpiredHistoryWeeks(
  ex: Executor,
  params: { retentionMs: number; limit: number; now?: Date },
): Promise<DroppedWeeks> {
  requireTransaction(ex);
  // The attached weekly partitions of fires whose executions partition exists too (a week is a pair).
  const { rows } = await sql<{ suffix: string }>`
    SELECT substr(c.relname, length('fires_p') + 1) AS suffix
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = to_regclass(format('%I.fires', ${ex.schema}::text))
       AND c.relname ~ '^fires_p[0-9]{8}$'
       AND to_regclass(format('%I.%I', ${ex.schema}::text, 'executions_p' || substr(c.relname, length('fires_p') + 1))) IS NOT NULL
       AND to_timestamp(substr(c.relname, length('fires_p') + 1), 'YYYYMMDD')::timestamp AT TIME ZONE 'UTC' + interval '1 week'
           <= ${dbNow(ex, params.now)} - ${params.retentionMs} * interval '1 millisecond'
     ORDER BY c.relname
     LIMIT ${params.limit + 1}`.execute(ex.db);
  const result: DroppedWeeks = { dropped: [], unfinished: [], failed: [], more: rows.length > params.limit };
  for (const row of rows.slice(0, params.limit)) {
    const week = weekOf(
      new Date(`${row.suffix.slice(0, 4)}-${row.suffix.slice(4, 6)}-${row.suffix.slice(6)}T00:00:00Z`),
    );
    const fires = sql.id(ex.schema, partitionName('fires', week));
    const executions = sql.id(ex.schema, partitionName('executions', week));
    try {
      const dropped = await inSavepoint(ex, async () => {
        await lockAll(ex, 'ACCESS EXCLUSIVE', ['fires', 'executions'], { only: true });
        // Dropping a table whose foreign keys reference `triggers` removes their triggers there.
        await lockAll(ex, 'ACCESS EXCLUSIVE', ['triggers']);
        await lockAll(
          ex,
          'ACCESS EXCLUSIVE',
          HISTORY_TABLES.map((parent) => partitionName(parent, week)),
        );
        for (const parent of HISTORY_TABLES)
          await sql`ALTER TABLE ${sql.id(ex.schema, parent)}
                      DETACH PARTITION ${sql.id(ex.schema, partitionName(parent, week))}`.execute(ex.db);
        // Detached under ACCESS EXCLUSIVE: no attempt of this week can start, finish or be added now.
        const { rows: open } = await sql<{ open: boolean }>`
          SELECT EXISTS (SELECT 1 FROM ${executions} WHERE status IN ('pending', 'running')) AS open`.execute(
          ex.db,
        );
        if (open[0]!.open) return false; // rolled back: the week stays attached
        await sql`DROP TABLE ${executions}, ${fires}`.execute(ex.db);
        return true;
      });
      if (dropped) result.dropped.push(partitionName('fires', week), partitionName('executions', week));
      else result.unfinished.push(week);
    } catch (error) {
      rethrowIfConnectionLost(error);
      result.failed.push({ week, error: error as Error });
    }
  }
  return result;
}

/** Locks relations of the Belfry schema (`only`: a parent without its partitions) in one statement. */
async function lockAll(
  ex: Executor,
  mode: 'SHARE UPDATE EXCLUSIVE' | 'SHARE ROW EXCLUSIVE' | 'ACCESS EXCLUSIVE',
  relations: readonly string[],
  options: { only?: boolean } = {},
): Promise<void> {
  const names = sql.join(relations.map((relation) => sql.id(ex.schema, relation)));
  await sql`LOCK TABLE ${options.only ? sql`ONLY ` : sql``}${names} IN ${sql.raw(mode)} MODE`.execute(ex.db);
}

/**
 * Runs `work` in a SAVEPOINT with the upkeep's lock_timeout: kept when it returns true, rolled back when
 * it returns false (the result) or throws (rethrown), so the caller's transaction stays usable either way.
 */
async function inSavepoint(ex: Executor, work: () => Promise<boolean>): Promise<boolean> {
  await sql`SAVEPOINT belfry_partition`.execute(ex.db);
  try {
    await sql`SELECT set_config('lock_timeout', ${LOCK_TIMEOUT}, true)`.execute(ex.db);
    const keep = await work();
    if (!keep) await sql`ROLLBACK TO SAVEPOINT belfry_partition`.execute(ex.db);
    await sql`RELEASE SAVEPOINT belfry_partition`.execute(ex.db);
    return keep;
  } catch (error) {
    await sql`ROLLBACK TO SAVEPOINT belfry_partition`.execute(ex.db);
    await sql`RELEASE SAVEPOINT belfry_partition`.execute(ex.db);
    throw error;
  }
}

/** Each DDL step runs in a SAVEPOINT of the caller's transaction (and a drop's locks last until it ends). */
function requireTransaction(ex: Executor): void {
  if (!ex.db.isTransaction) throw new Error('history partition upkeep must run inside a transaction');
}

/** A failure that ends the caller's pass anyway (the connection is gone): not one week's problem. */
function rethrowIfConnectionLost(error: unknown): void {
  if (classifyDatabaseError(error) === 'connection') throw error;
}
