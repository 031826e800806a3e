/**
 * The dashboard's read queries (api/overview-routes.ts): the cluster's health over the last hour and day,
 * what is stuck, what runs where, and one execution's attempts. Every query is bounded by an index:
 * `fires_scheduled` for time windows, the partial `executions_pending` / `executions_running` indexes
 * for work in flight, `executions_attempt_once` for a fire's attempts.
 */
import { sql } from 'kysely';
import { dbNow, table, type Executor } from './executor.js';
import { toHistoryRow, type HistoryRow } from './history-store.js';
import type { JobHistoryView } from './tables.js';

export interface OverviewStats {
  /** Database time the figures were taken at. */
  at: Date;
  lastHour: {
    fires: number;
    attempts: number;
    failed: number;
    lagP50Ms: number | null;
    lagP99Ms: number | null;
    /** Fires per minute, oldest first (60 buckets, the last one partial). */
    perMinute: number[];
  };
  lastDay: { failed: number; misfired: number; succeeded: number };
}

const FAILED = ['failed', 'timed_out', 'abandoned'];

export async function overviewStats(ex: Executor, params: { now?: Date } = {}): Promise<OverviewStats> {
  const now = dbNow(ex, params.now);
  const { rows } = await sql<{
    at: Date;
    fires: string;
    attempts: string;
    failed_hour: string;
    lag_p50: number | null;
    lag_p99: number | null;
    failed_day: string;
    misfired_day: string;
    succeeded_day: string;
  }>`
    WITH window_rows AS (
      -- Each fire's attempts looked up through executions_attempt_once (fire_id, attempt). A join, or a
      -- LATERAL subquery the planner may flatten into one, hashed the hour's fires against a scan of
      -- every execution (4 s at 10 M rows); OFFSET 0 keeps the subquery a per-fire index lookup.
      SELECT f.scheduled_at, f.fired_at, e.attempt, e.status, e.started_at
        FROM ${table(ex, 'fires')} f
        CROSS JOIN LATERAL (
          SELECT x.attempt, x.status, x.started_at FROM ${table(ex, 'executions')} x
           WHERE x.fire_id = f.id AND x.scheduled_at = f.scheduled_at
          OFFSET 0
        ) e
       WHERE f.scheduled_at >= ${now} - interval '1 hour' AND f.scheduled_at <= ${now}
    )
    SELECT ${now} AS at,
           count(*) FILTER (WHERE attempt = 1) AS fires,
           count(*) AS attempts,
           count(*) FILTER (WHERE status = ANY(${FAILED})) AS failed_hour,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM coalesce(started_at, fired_at) - scheduled_at) * 1000)
             FILTER (WHERE attempt = 1) AS lag_p50,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM coalesce(started_at, fired_at) - scheduled_at) * 1000)
             FILTER (WHERE attempt = 1) AS lag_p99,
           -- The day's outcomes by when the attempt started (a misfire, which never starts: when it was
           -- recorded), each a range of executions_status_started rather than a walk over the day's fires.
           (SELECT count(*) FROM ${table(ex, 'executions')}
             WHERE status = ANY(${FAILED}) AND started_at >= ${now} - interval '24 hours') AS failed_day,
           (SELECT count(*) FROM ${table(ex, 'executions')}
             WHERE status = 'succeeded' AND started_at >= ${now} - interval '24 hours') AS succeeded_day,
           (SELECT count(*) FROM ${table(ex, 'executions')}
             WHERE status = 'misfired' AND finished_at >= ${now} - interval '24 hours') AS misfired_day
      FROM window_rows`.execute(ex.db);
  const { rows: minutes } = await sql<{ minute: number; fires: string }>`
    SELECT floor(extract(epoch FROM ${now} - scheduled_at) / 60)::int AS minute, count(*) AS fires
      FROM ${table(ex, 'fires')}
     WHERE scheduled_at > ${now} - interval '1 hour' AND scheduled_at <= ${now}
     GROUP BY 1`.execute(ex.db);
  const perMinute = new Array<number>(60).fill(0);
  for (const { minute, fires } of minutes)
    if (minute >= 0 && minute < 60) perMinute[59 - minute] = Number(fires);
  const row = rows[0]!;
  return {
    at: row.at,
    lastHour: {
      fires: Number(row.fires),
      attempts: Number(row.attempts),
      failed: Number(row.failed_hour),
      lagP50Ms: row.lag_p50 === null ? null : Math.round(row.lag_p50),
      lagP99Ms: row.lag_p99 === null ? null : Math.round(row.lag_p99),
      perMinute,
    },
    lastDay: {
      failed: Number(row.failed_day),
      misfired: Number(row.misfired_day),
      succeeded: Number(row.succeeded_day),
    },
  };
}

export interface StuckExecution extends HistoryRow {
  /** Why it counts as stuck. */
  reason: 'pending too long' | 'running on a gone instance' | 'running long';
}

/**
 * Work that should have moved and has not: pending past its run time by more than `pendingMs`, running
 * on an instance that is no longer active (recovery has not caught up), or running for over `runningMs`.
 */
export async function stuckExecutions(
  ex: Executor,
  params: { pendingMs: number; runningMs: number; limit: number; now?: Date },
): Promise<StuckExecution[]> {
  const now = dbNow(ex, params.now);
  // Two arms, each on its partial index (executions_pending, executions_running): an OR across the
  // statuses would scan every execution.
  const { rows } = await sql<JobHistoryView & { reason: StuckExecution['reason'] }>`
    WITH stuck AS (
      SELECT e.id, 'pending too long' AS reason
        FROM ${table(ex, 'executions')} e
       WHERE e.status = 'pending' AND e.run_at < ${now} - make_interval(secs => ${params.pendingMs / 1000})
      UNION ALL
      SELECT e.id, CASE WHEN i.state IS DISTINCT FROM 'active' THEN 'running on a gone instance' ELSE 'running long' END
        FROM ${table(ex, 'executions')} e
        LEFT JOIN ${table(ex, 'instances')} i ON i.id = e.instance_id
       WHERE e.status = 'running'
         AND (i.state IS DISTINCT FROM 'active' OR e.started_at < ${now} - make_interval(secs => ${params.runningMs / 1000}))
    )
    SELECT h.*, s.reason
      FROM stuck s
      JOIN ${table(ex, 'job_history')} h ON h.execution_id = s.id
     ORDER BY h.scheduled_at
     LIMIT ${params.limit}`.execute(ex.db);
  return rows.map((row) => ({ ...toHistoryRow(row), reason: row.reason }));
}

/** Attempts that are running now, oldest first (the cluster page groups them by instance). */
export async function runningExecutions(ex: Executor, params: { limit: number }): Promise<HistoryRow[]> {
  const rows = await ex.db
    .selectFrom('job_history')
    .selectAll()
    .where('status', '=', 'running')
    .orderBy('started_at')
    .limit(params.limit)
    .execute();
  return rows.map(toHistoryRow);
}

/** Every attempt of the fire an execution belongs to, first attempt first; empty when it is unknown. */
export async function fireAttempts(ex: Executor, params: { executionId: string }): Promise<HistoryRow[]> {
  if (!/^\d{1,19}$/.test(params.executionId)) return [];
  const rows = await ex.db
    .selectFrom('job_history')
    .selectAll()
    .where('fire_id', '=', (eb) =>
      eb
        .selectFrom('executions')
        .select('fire_id')
        .where('id', '=', params.executionId as never),
    )
    .orderBy('attempt')
    .execute();
  return rows.map(toHistoryRow);
}
