/**
 * Audit queries over the `job_history` view (a public contract; see docs/audit.md).
 */
import { sql } from 'kysely';
import type { Executor } from './executor.js';
import type { ExecutionStatus, JobHistoryView } from './tables.js';

export interface HistoryFilter {
  job?: string;
  trigger?: string;
  group?: string;
  status?: ExecutionStatus[];
  instance?: string;
  since?: Date;
  until?: Date;
  minDurationMs?: number;
  errorContains?: string;
  limit?: number;
  /** Keyset pagination: only rows after this one in the newest-first order (no OFFSET). */
  before?: HistoryCursor;
}

/** A row's place in the newest-first order: (scheduled_at, execution_id) descending. */
export interface HistoryCursor {
  scheduledAt: Date;
  executionId: string;
}

export interface HistoryRow {
  executionId: string;
  job: string;
  trigger: string;
  triggerGroup: string;
  scheduledAt: Date;
  firedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  lagMs: number | null;
  durationMs: number | null;
  instance: string | null;
  attempt: number;
  status: ExecutionStatus;
  error: string | null;
  traceId: string | null;
}

export async function queryHistory(ex: Executor, filter: HistoryFilter): Promise<HistoryRow[]> {
  let query = ex.db.selectFrom('job_history').selectAll();
  if (filter.job) query = query.where('job', '=', filter.job);
  if (filter.trigger) query = query.where('trigger', '=', filter.trigger);
  if (filter.group) query = query.where('trigger_group', '=', filter.group);
  if (filter.status?.length) query = query.where('status', 'in', filter.status);
  if (filter.instance)
    query = query.where((eb) =>
      eb.or([eb('instance', '=', filter.instance!), eb(sql`instance_id::text`, '=', filter.instance!)]),
    );
  if (filter.since) query = query.where('scheduled_at', '>=', filter.since);
  if (filter.until) query = query.where('scheduled_at', '<', filter.until);
  if (filter.minDurationMs !== undefined)
    query = query.where('duration_ms', '>=', String(filter.minDurationMs));
  if (filter.errorContains)
    query = query.where('error', 'ilike', `%${filter.errorContains.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  if (filter.before) {
    const { scheduledAt, executionId } = filter.before;
    // `scheduled_at <=` alone is what the fires_scheduled index can seek to; the OR breaks ties.
    query = query
      .where('scheduled_at', '<=', scheduledAt)
      .where((eb) =>
        eb.or([
          eb('scheduled_at', '<', scheduledAt),
          eb('execution_id', '<', sql<string>`${executionId}::bigint`),
        ]),
      );
  }
  const rows = await query
    .orderBy('scheduled_at', 'desc')
    .orderBy('execution_id', 'desc')
    .limit(Math.min(Math.max(filter.limit ?? 100, 1), 100_000))
    .execute();
  return rows.map(toHistoryRow);
}

/** A row of the job_history view as a HistoryRow. */
export function toHistoryRow(row: JobHistoryView): HistoryRow {
  return {
    executionId: row.execution_id,
    job: row.job,
    trigger: row.trigger,
    triggerGroup: row.trigger_group,
    scheduledAt: row.scheduled_at,
    firedAt: row.fired_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    lagMs: row.lag_ms === null ? null : Number(row.lag_ms),
    durationMs: row.duration_ms === null ? null : Number(row.duration_ms),
    instance: row.instance,
    attempt: row.attempt,
    status: row.status,
    error: row.error,
    traceId: row.trace_id,
  };
}
