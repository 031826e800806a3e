/**
 * The hands-on operations on executions and fires (docs/continuations.md): an operator's retry and
 * re-run (a new attempt of the same fire, so the same idempotency key), cancel, the dead-letter list and
 * its discard, and backfill. Each write is one statement or one short transaction that the caller
 * composes (operations/execution-operations.ts); the row lock of the fire serializes two operators.
 */
import { sql } from 'kysely';
import { changeChannel, dbNow, notifyChange, table, type Executor } from './executor.js';
import { inScheduledMs } from './scheduled-key.js';
import type { ExecutionStatus, FireOrigin } from './tables.js';
import { TRIGGER_SCHEDULE_COLUMNS, triggerScheduleFromRow, type TriggerSchedule } from './trigger-row.js';

/** The NOTIFY payload prefix that asks the replica running an execution to abort it. */
export const CANCEL_NOTICE = 'cancel:';

/** A fire's latest attempt, as a retry, re-run or discard judges it. */
export interface LatestAttempt {
  fireId: string;
  /** The fire's scheduled time (the partition key of its attempts: migrations/0011). */
  scheduledAt: Date;
  executionId: string;
  attempt: number;
  job: string;
  trigger: string;
  status: ExecutionStatus;
  discarded: boolean;
}

type LatestRow = {
  fire_id: string;
  scheduled_at: Date;
  execution_id: string;
  attempt: number;
  job_name: string;
  trigger_name: string;
  status: ExecutionStatus;
  discarded: boolean;
};

const toLatest = (row: LatestRow): LatestAttempt => ({
  fireId: row.fire_id,
  scheduledAt: row.scheduled_at,
  executionId: row.execution_id,
  attempt: row.attempt,
  job: row.job_name,
  trigger: row.trigger_name,
  status: row.status,
  discarded: row.discarded,
});

/**
 * Locks a fire (FOR UPDATE, so two operators' retries take turns) and returns its latest attempt, found
 * from the fire's id or from any of its executions' ids; undefined when there is no such fire.
 */
export async function lockLatestAttempt(
  ex: Executor,
  params: { fireId: string } | { executionId: string },
): Promise<LatestAttempt | undefined> {
  const fireId =
    'fireId' in params
      ? sql`${params.fireId}::bigint`
      : sql`(SELECT fire_id FROM ${table(ex, 'executions')} WHERE id = ${params.executionId}::bigint)`;
  const { rows } = await sql<LatestRow>`
    WITH f AS (SELECT id, scheduled_at, trigger_name, dead_letter_discarded_at FROM ${table(ex, 'fires')} WHERE id = ${fireId} FOR UPDATE)
    SELECT f.id AS fire_id, f.scheduled_at, e.id AS execution_id, e.attempt, e.job_name, f.trigger_name, e.status,
           f.dead_letter_discarded_at IS NOT NULL AS discarded
      FROM f JOIN LATERAL (SELECT * FROM ${table(ex, 'executions')}
                            WHERE fire_id = f.id AND scheduled_at = f.scheduled_at ORDER BY attempt DESC LIMIT 1) e ON true`.execute(
    ex.db,
  );
  return rows[0] ? toLatest(rows[0]) : undefined;
}

/** The execution's own attempt number and fire, or undefined. */
export async function findExecution(
  ex: Executor,
  params: { executionId: string },
): Promise<{ fireId: string; attempt: number; status: ExecutionStatus } | undefined> {
  const row = await ex.db
    .selectFrom('executions')
    .select(['fire_id', 'attempt', 'status'])
    .where('id', '=', sql<string>`${params.executionId}::bigint`)
    .executeTakeFirst();
  return row ? { fireId: row.fire_id, attempt: row.attempt, status: row.status } : undefined;
}

/**
 * Adds the next attempt of a fire, pending and due now, marked as the operator's request; clears a
 * discard (the fire is live again). The caller holds the fire's lock (lockLatestAttempt) and has judged
 * that the request fits. Wakes the replicas. Returns the new attempt.
 */
export async function insertRequestedAttempt(
  ex: Executor,
  params: {
    latest: LatestAttempt;
    requested: 'retry' | 'rerun';
    requestedBy: string;
    now?: Date;
  },
): Promise<{ executionId: string; attempt: number }> {
  const now = dbNow(ex, params.now);
  const { latest } = params;
  const { rows } = await sql<{ id: string; attempt: number }>`
    WITH cleared AS (
      UPDATE ${table(ex, 'fires')} SET dead_letter_discarded_at = NULL, dead_letter_discarded_by = NULL
       WHERE id = ${latest.fireId}::bigint AND ${inScheduledMs(sql`scheduled_at`, latest.scheduledAt)}
         AND dead_letter_discarded_at IS NOT NULL
    )
    -- The fire's own scheduled_at (exact to the microsecond, which the Date read back may not be).
    INSERT INTO ${table(ex, 'executions')} (fire_id, scheduled_at, attempt, job_name, status, run_at, requested, requested_by)
    SELECT f.id, f.scheduled_at, ${latest.attempt + 1}, ${latest.job}, 'pending', ${now}, ${params.requested},
           ${params.requestedBy}
      FROM ${table(ex, 'fires')} f
     WHERE f.id = ${latest.fireId}::bigint AND ${inScheduledMs(sql`f.scheduled_at`, latest.scheduledAt)}
    RETURNING id, attempt`.execute(ex.db);
  await notifyChange(ex, 'pending');
  return { executionId: rows[0]!.id, attempt: rows[0]!.attempt };
}

/**
 * Cancels a pending or running attempt: `cancelled` at once (database time), with who asked, and a
 * NOTIFY that makes the replica running it abort its signal (delivered on commit). A running attempt
 * of a dead replica is simply marked. Returns the status it had (undefined: no such execution), and
 * whether it was cancelled (false: it had already finished).
 */
export async function cancelExecution(
  ex: Executor,
  params: { executionId: string; requestedBy: string; now?: Date },
): Promise<{ previous: ExecutionStatus; cancelled: boolean; instanceId: string | null } | undefined> {
  const now = dbNow(ex, params.now);
  const { rows } = await sql<{ previous: ExecutionStatus; cancelled: boolean; instance_id: string | null }>`
    WITH target AS (
      SELECT id, status, instance_id FROM ${table(ex, 'executions')} WHERE id = ${params.executionId}::bigint FOR UPDATE
    ), cancelled AS (
      UPDATE ${table(ex, 'executions')} e
         SET status = 'cancelled', finished_at = ${now}, requested = 'cancel', requested_by = ${params.requestedBy},
             error = 'cancelled by ' || ${params.requestedBy}
        FROM target t
       WHERE e.id = t.id AND t.status IN ('pending', 'running')
      RETURNING e.id
    )
    SELECT t.status AS previous, EXISTS (SELECT 1 FROM cancelled) AS cancelled, t.instance_id,
           (SELECT pg_notify(${changeChannel(ex.schema)}, ${CANCEL_NOTICE} || t.id::text)
             WHERE t.status = 'running') AS notified
      FROM target t`.execute(ex.db);
  const row = rows[0];
  return row ? { previous: row.previous, cancelled: row.cancelled, instanceId: row.instance_id } : undefined;
}

export interface DeadLetterFilter {
  job?: string;
  trigger?: string;
  /** Scheduled at or after. */
  since?: Date;
  /** Scheduled before. */
  until?: Date;
  errorContains?: string;
  limit: number;
}

/** A fire whose latest attempt failed or timed out, with no retry left, not discarded. */
export interface DeadLetter {
  fireId: string;
  executionId: string;
  job: string;
  trigger: string;
  triggerGroup: string;
  origin: FireOrigin;
  scheduledAt: Date;
  finishedAt: Date | null;
  attempt: number;
  status: ExecutionStatus;
  error: string | null;
  instance: string | null;
}

function deadLetterWhere(ex: Executor, filter: Omit<DeadLetterFilter, 'limit'>) {
  return sql`e.status IN ('failed', 'timed_out') AND f.dead_letter_discarded_at IS NULL
     AND NOT EXISTS (SELECT 1 FROM ${table(ex, 'executions')} n
                      WHERE n.fire_id = e.fire_id AND n.scheduled_at = e.scheduled_at AND n.attempt > e.attempt)
     ${filter.job === undefined ? sql`` : sql`AND f.job_name = ${filter.job}`}
     ${filter.trigger === undefined ? sql`` : sql`AND f.trigger_name = ${filter.trigger}`}
     ${filter.since === undefined ? sql`` : sql`AND f.scheduled_at >= ${filter.since}`}
     ${filter.until === undefined ? sql`` : sql`AND f.scheduled_at < ${filter.until}`}
     ${filter.errorContains === undefined ? sql`` : sql`AND strpos(e.error, ${filter.errorContains}) > 0`}`;
}

/** Dead letters, newest scheduled first. */
export async function listDeadLetters(ex: Executor, filter: DeadLetterFilter): Promise<DeadLetter[]> {
  const { rows } = await sql<{
    fire_id: string;
    execution_id: string;
    job_name: string;
    trigger_name: string;
    trigger_group: string;
    origin: FireOrigin;
    scheduled_at: Date;
    finished_at: Date | null;
    attempt: number;
    status: ExecutionStatus;
    error: string | null;
    instance: string | null;
  }>`
    SELECT f.id AS fire_id, e.id AS execution_id, f.job_name, f.trigger_name, f.trigger_group, f.origin,
           f.scheduled_at, e.finished_at, e.attempt, e.status, e.error,
           coalesce(i.name, e.instance_id::text) AS instance
      FROM ${table(ex, 'executions')} e
      -- By id alone, as job_history joins (migrations/0012): with the partition key too, the planner takes
      -- the two conditions as independent, expects one row and hash-joins the whole history.
      JOIN ${table(ex, 'fires')} f ON f.id = e.fire_id
      LEFT JOIN ${table(ex, 'instances')} i ON i.id = e.instance_id
     WHERE ${deadLetterWhere(ex, filter)}
     ORDER BY f.scheduled_at DESC, f.id DESC
     LIMIT ${filter.limit}`.execute(ex.db);
  return rows.map((row) => ({
    fireId: row.fire_id,
    executionId: row.execution_id,
    job: row.job_name,
    trigger: row.trigger_name,
    triggerGroup: row.trigger_group,
    origin: row.origin,
    scheduledAt: row.scheduled_at,
    finishedAt: row.finished_at,
    attempt: row.attempt,
    status: row.status,
    error: row.error,
    instance: row.instance,
  }));
}

/** How many dead letters there are (the `belfry_dead_letters` gauge). */
export async function countDeadLetters(ex: Executor): Promise<number> {
  const { rows } = await sql<{ count: number }>`
    SELECT count(*)::int AS count
      FROM ${table(ex, 'executions')} e
      JOIN ${table(ex, 'fires')} f ON f.id = e.fire_id AND f.scheduled_at = e.scheduled_at
     WHERE ${deadLetterWhere(ex, {})}`.execute(ex.db);
  return rows[0]?.count ?? 0;
}

/** Marks a locked dead letter discarded (it stays in the history). */
export async function discardDeadLetter(
  ex: Executor,
  params: { fireId: string; discardedBy: string; now?: Date },
): Promise<void> {
  await ex.db
    .updateTable('fires')
    .set({ dead_letter_discarded_at: dbNow(ex, params.now), dead_letter_discarded_by: params.discardedBy })
    .where('id', '=', sql<string>`${params.fireId}::bigint`)
    .execute();
}

/** The trigger a backfill replays: its schedule, by name. */
export async function backfillTrigger(
  ex: Executor,
  params: { name: string },
): Promise<TriggerSchedule | undefined> {
  const row = await ex.db
    .selectFrom('triggers')
    .select(TRIGGER_SCHEDULE_COLUMNS)
    .where('name', '=', params.name)
    .executeTakeFirst();
  return row ? triggerScheduleFromRow(row) : undefined;
}

/** Of these scheduled times, those the trigger has no fire for yet (the backfill's dry run). */
export async function missingFireTimes(
  ex: Executor,
  params: { triggerId: string; times: readonly Date[] },
): Promise<Date[]> {
  if (params.times.length === 0) return [];
  const { rows } = await sql<{ at: Date }>`
    SELECT t.at FROM unnest(${params.times as Date[]}::timestamptz[]) AS t(at)
     WHERE NOT EXISTS (SELECT 1 FROM ${table(ex, 'fires')} f WHERE f.trigger_id = ${params.triggerId}::bigint AND f.scheduled_at = t.at)
     ORDER BY t.at`.execute(ex.db);
  return rows.map((row) => row.at);
}

/**
 * Records backfilled fires of a trigger for past scheduled times, each with a pending first attempt due
 * `spacingMs` after the previous one (the throttle), oldest first. A time the trigger already has a fire
 * for is skipped by `fires_once` (ON CONFLICT DO NOTHING): a backfill run twice creates nothing the second
 * time. Wakes the replicas. Returns the scheduled times created.
 */
export async function insertBackfillFires(
  ex: Executor,
  params: {
    trigger: Pick<TriggerSchedule, 'id' | 'name' | 'group' | 'job'>;
    times: readonly Date[];
    overlap: 'skip' | 'allow';
    spacingMs: number;
    instanceId: string | null;
    now?: Date;
  },
): Promise<Date[]> {
  if (params.times.length === 0) return [];
  const now = dbNow(ex, params.now);
  const { trigger } = params;
  const { rows } = await sql<{ scheduled_at: Date }>`
    WITH input AS (
      SELECT at, n FROM unnest(${params.times as Date[]}::timestamptz[]) WITH ORDINALITY AS t(at, n)
    ), fired AS (
      INSERT INTO ${table(ex, 'fires')} (trigger_id, trigger_name, trigger_group, job_name, scheduled_at, fired_at,
             instance_id, data, origin, backfill_overlap)
      SELECT ${trigger.id}::bigint, ${trigger.name}, ${trigger.group}, ${trigger.job}, i.at, ${now},
             ${params.instanceId}::uuid, j.data || coalesce(t.data, '{}'::jsonb), 'backfill', ${params.overlap}
        FROM input i
        JOIN ${table(ex, 'triggers')} t ON t.id = ${trigger.id}::bigint
        JOIN ${table(ex, 'jobs')} j ON j.name = t.job_name
       ORDER BY i.n
      ON CONFLICT ON CONSTRAINT fires_once DO NOTHING
      RETURNING id, job_name, scheduled_at
    ), ordered AS (
      SELECT id, job_name, scheduled_at, row_number() OVER (ORDER BY scheduled_at) - 1 AS k FROM fired
    ), started AS (
      INSERT INTO ${table(ex, 'executions')} (fire_id, scheduled_at, attempt, job_name, status, run_at)
      SELECT id, scheduled_at, 1, job_name, 'pending', ${now} + k * ${params.spacingMs}::float8 * interval '1 millisecond'
        FROM ordered
      RETURNING fire_id
    )
    SELECT o.scheduled_at FROM ordered o JOIN started s ON s.fire_id = o.id ORDER BY o.scheduled_at`.execute(
    ex.db,
  );
  if (rows.length > 0) await notifyChange(ex, 'pending');
  return rows.map((row) => row.scheduled_at);
}
