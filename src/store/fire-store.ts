/**
 * The firing hot path: lock due triggers, record their fires and advance them, in one transaction.
 *
 * Exactly-once rests on three things here (architecture invariant 1): due triggers are locked with
 * `FOR UPDATE SKIP LOCKED`, so two replicas never hold the same trigger; the fire is inserted in the same
 * transaction that moves `next_fire_at` past it, so a crash leaves either both or neither; and
 * `UNIQUE (trigger_id, scheduled_at)` rejects a second fire even if the code above were wrong.
 * Due-ness is judged by the database clock (invariant 2). Nothing is acquired unless this replica's
 * instance row is active, checked in the same transaction (invariant 7).
 *
 * A conflicting fire row (one the constraint already holds) is skipped on its own: it never rolls back
 * or delays the rest of the batch, and its trigger still advances.
 */
import { sql, type RawBuilder, type Selectable } from 'kysely';
import { dbClock, dbNow, table, type Executor } from './executor.js';
import { liveInstanceGuard } from './instance-store.js';
import { triggerScheduleFromRow, type TriggerSchedule, type TriggerScheduleRow } from './trigger-row.js';
import type { ExecutionStatus, JobsTable, TriggersTable } from './tables.js';

/** A trigger the acquisition locked, with what the planner and the executor need of its job. */
export interface DueTrigger extends TriggerSchedule {
  /** With `replanAt`: the schedules the change replaced, `[{ spec, until }]` oldest first (migration 0007). */
  supersededSchedules: SupersededSpec[] | null;
  misfireUntil: Date | null;
  concurrency: JobsTable['concurrency'];
  settings: JobSettings;
  /** The database's now() for this transaction: what due-ness and misfires are judged against. */
  dbNow: Date;
}

/** A spec a schedule change replaced, and the database time of that change (ISO text, as stored). */
export interface SupersededSpec {
  spec: unknown;
  until: string;
}

/** What the executor needs to know of a job, read with the trigger so a fire needs no extra query. */
export interface JobSettings {
  timeoutMs: number | null;
  maxAttempts: number;
  backoff: { initialMs?: number; maxMs?: number; factor?: number };
  recover: boolean;
}

export interface LockDueTriggersParams {
  /** This replica's instance: nothing is locked unless its row is `active` (checked under FOR SHARE). */
  instanceId: string;
  /** Jobs this replica can run; triggers of other jobs are left for replicas that can. */
  jobs: readonly string[];
  limit: number;
  /**
   * Also take triggers due within this many ms (Quartz's fire-ahead window): the fire is recorded
   * before its time and the executor starts it on time, so acquisition latency does not become lag.
   * Triggers of `concurrency: forbid` jobs are never taken ahead: "is the previous run still going?"
   * must be judged at the scheduled time.
   */
  lookaheadMs?: number;
  now?: Date;
}

/** A locked trigger with its job's settings, as the acquisition statement returns it. */
type DueRow = TriggerScheduleRow &
  Pick<Selectable<TriggersTable>, 'misfire_until'> &
  Pick<Selectable<JobsTable>, 'concurrency' | 'timeout_ms' | 'max_attempts' | 'recover'> & {
    // jsonb columns whose table types stay open: the shapes the writers store.
    superseded_schedules: SupersededSpec[] | null;
    backoff: JobSettings['backoff'];
    db_now: Date;
  };

/** What one acquisition statement locked, and when nothing was, how long until something is due. */
export interface LockedTriggers {
  triggers: DueTrigger[];
  /**
   * Only when nothing was locked: milliseconds until the earliest due trigger, replan or pending execution
   * this replica could take (null: none), as `nextDueDelayMs` measures it, from the same statement. Peers'
   * locked rows count as due. Undefined when something was locked (the caller plans and commits first).
   */
  idleDelayMs?: number | null;
}

/**
 * Locks up to `limit` triggers to plan, in one statement: first those whose schedule changed and whose
 * replan is due (`replan_at`, oldest change first, from a small partial index), then the due ones in
 * fire-time order, walked by the `lock_due_triggers` function (migration 0006) whose plan follows
 * triggers_due whatever the statistics say. Two locking CTEs, each with its own index range, rather than one `OR`: an `OR` would turn the due
 * index's range into a filter and scan every waiting trigger. With the transaction's BEGIN and COMMIT and
 * `recordFires`, an acquisition is four round trips.
 */
export async function lockDueTriggers(ex: Executor, params: LockDueTriggersParams): Promise<LockedTriggers> {
  const now = dbNow(ex, params.now);
  const jobs = params.jobs as string[];
  const { rows } = await sql<DueRow & { idle_delay_ms: number | null }>`
    -- FOR SHARE holds off a concurrent "declare dead" until this transaction ends: either it sees the
    -- instance active and its fires commit before the death, or it sees it dead and locks nothing.
    WITH alive AS MATERIALIZED (${liveInstanceGuard(ex, { instanceId: params.instanceId })}),
    replanned AS MATERIALIZED (
      SELECT t.*
        FROM ${table(ex, 'triggers')} t
        JOIN ${table(ex, 'jobs')} j ON j.name = t.job_name
       WHERE t.replan_at IS NOT NULL AND t.state = 'waiting'
         -- Taken when due, as the walk below judges due-ness. replan_at is the change (past: at once) or the
         -- next fire a superseded schedule still owes, which the planner runs as soon as it holds the lock;
         -- the stored next fire, when earlier, is owed first. A replan_at ahead of the database clock (the
         -- clock stepped back) must wait for it, not be locked and fired early by every acquisition.
         AND least(t.replan_at, t.next_fire_at) <= ${now} + ${params.lookaheadMs ?? 0}::float8 * interval '1 millisecond'
         AND (j.concurrency <> 'forbid' OR least(t.replan_at, t.next_fire_at) <= ${now})
         AND t.job_name = ANY(${jobs}::text[])
         AND NOT j.paused
         AND EXISTS (SELECT 1 FROM alive)
       ORDER BY t.replan_at
       LIMIT ${params.limit}
         FOR UPDATE OF t SKIP LOCKED
    ), due AS MATERIALIZED (
      -- Walks triggers_due in order and stops after the rows the replans left room for: O(batch).
      SELECT d.*
        FROM ${sql.table(`${ex.schema}.lock_due_triggers`)}(
               ${jobs}::text[],
               CASE WHEN EXISTS (SELECT 1 FROM alive) THEN ${params.limit}::bigint - (SELECT count(*) FROM replanned) ELSE 0 END,
               ${params.lookaheadMs ?? 0}::float8, ${now}) d
    ), locked AS (
      SELECT * FROM replanned UNION ALL SELECT * FROM due
    ), found AS (
      SELECT t.id, t.name, t.group_name, t.job_name, t.kind, t.spec, t.calendar_name,
             j.data || coalesce(t.data, '{}'::jsonb) AS data, t.next_fire_at, t.previous_fire_at,
             t.times_fired, t.max_fires, t.start_at, t.end_at, t.misfire_policy, t.misfire_threshold_ms,
             t.replan_at, t.superseded_schedules, t.misfire_until, t.version,
             j.concurrency, j.timeout_ms, j.max_attempts, j.backoff, j.recover, ${now} AS db_now
        FROM locked t JOIN ${table(ex, 'jobs')} j ON j.name = t.job_name
    )
    -- The locked rows; or, when there are none, one row of nulls carrying the idle delay, so an idle tick
    -- learns how long to sleep without another round trip (the delay subqueries run only then).
    SELECT found.*, idle.delay_ms AS idle_delay_ms
      FROM (VALUES (1)) one(x)
      LEFT JOIN found ON true
      LEFT JOIN (SELECT ${nextDueDelay(ex, jobs)} AS delay_ms WHERE NOT EXISTS (SELECT 1 FROM found)) idle ON true`.execute(
    ex.db,
  );
  if (rows.length === 1 && rows[0]!.id === null) {
    const delay = rows[0]!.idle_delay_ms;
    return { triggers: [], idleDelayMs: delay === null ? null : Math.max(0, delay) };
  }
  // The schedule's object extended in place: V8 (Node 20) builds `{ ...object, more }` in its slow
  // runtime path, about 4 µs per row against 0.1 µs for property stores (docs/performance.md).
  const triggers = rows.map((row) => {
    const trigger = triggerScheduleFromRow(row) as DueTrigger;
    trigger.supersededSchedules = row.superseded_schedules;
    trigger.misfireUntil = row.misfire_until;
    trigger.concurrency = row.concurrency;
    trigger.settings = {
      timeoutMs: row.timeout_ms,
      maxAttempts: row.max_attempts,
      backoff: row.backoff,
      recover: row.recover,
    };
    trigger.dbNow = row.db_now;
    return trigger;
  });
  return { triggers };
}

/**
 * For `concurrency: forbid` jobs: locks the jobs' rows (in name order, so two replicas cannot deadlock)
 * and returns those with an execution still running or waiting anywhere in the cluster. The row lock
 * serializes this check with the insert of the new execution, so two replicas cannot both see "idle".
 */
export async function lockBusyJobs(ex: Executor, params: { jobs: readonly string[] }): Promise<Set<string>> {
  if (params.jobs.length === 0) return new Set();
  await sql`SELECT name FROM ${table(ex, 'jobs')} WHERE name = ANY(${params.jobs as string[]}::text[])
             ORDER BY name FOR UPDATE`.execute(ex.db);
  const { rows } = await sql<{ job_name: string }>`
    SELECT DISTINCT job_name FROM ${table(ex, 'executions')}
     WHERE job_name = ANY(${params.jobs as string[]}::text[]) AND status IN ('running', 'pending')`.execute(
    ex.db,
  );
  return new Set(rows.map((row) => row.job_name));
}

export interface TriggerAdvance {
  id: string;
  /** The version that was read and planned: the advance (and its fires) applies only to that row. */
  version: number;
  nextFireAt: Date | null;
  previousFireAt: Date | null;
  /** How many fires this advance adds to `times_fired` (misfires recorded as such are not counted). */
  fired: number;
  /** `paused` only when the engine pauses a trigger it cannot plan, with `pausedReason`. */
  state: 'waiting' | 'complete' | 'paused';
  misfireUntil: Date | null;
  pausedReason: string | null;
  /** Keep the replan state, at this next fire (the planner still walks superseded schedules); null clears it. */
  replanAt: Date | null;
}

export interface FireToRecord {
  triggerId: string;
  triggerName: string;
  group: string;
  job: string;
  scheduledAt: Date;
  data: Record<string, unknown> | null;
  /**
   * `running` when this replica starts it now; `pending` when any replica may start it `delayMs` from
   * now (a spread-out catch-up); `skipped`/`misfired`/`vetoed` are recorded as already finished.
   */
  status: Extract<ExecutionStatus, 'running' | 'pending' | 'skipped' | 'misfired' | 'vetoed'>;
  delayMs: number;
  error: string | null;
  traceContext: Record<string, string> | null;
}

export interface RecordedFire {
  executionId: string;
  fireId: string;
  triggerId: string;
  scheduledAt: Date;
  firedAt: Date;
  status: FireToRecord['status'];
}

export async function recordFires(
  ex: Executor,
  params: {
    instanceId: string;
    advances: readonly TriggerAdvance[];
    fires: readonly FireToRecord[];
    now?: Date;
  },
): Promise<RecordedFire[]> {
  const { advances, fires } = params;
  const now = dbNow(ex, params.now);
  const { rows } = await sql<
    | {
        fire_id: string;
        trigger_id: string;
        scheduled_at: Date;
        fired_at: Date;
        execution_id: null;
        status: null;
      }
    | {
        fire_id: string;
        trigger_id: null;
        scheduled_at: null;
        fired_at: null;
        execution_id: string;
        status: FireToRecord['status'];
      }
  >`
    WITH advanced AS (
      UPDATE ${table(ex, 'triggers')} t
         SET next_fire_at = a.next_fire_at,
             previous_fire_at = greatest(a.previous_fire_at, t.previous_fire_at),
             times_fired = t.times_fired + a.fired, state = a.state, updated_at = ${now},
             replan_at = a.replan_at, misfire_until = a.misfire_until, paused_reason = a.paused_reason,
             superseded_schedules = CASE WHEN a.replan_at IS NULL THEN NULL ELSE t.superseded_schedules END
        FROM unnest(${advances.map((a) => a.id)}::bigint[], ${advances.map((a) => a.version)}::int[],
                    ${advances.map((a) => a.nextFireAt)}::timestamptz[],
                    ${advances.map((a) => a.previousFireAt)}::timestamptz[], ${advances.map((a) => a.fired)}::int[],
                    ${advances.map((a) => a.state)}::text[], ${sparse(advances, (a) => a.misfireUntil)}::timestamptz[],
                    ${sparse(advances, (a) => a.pausedReason)}::text[], ${sparse(advances, (a) => a.replanAt)}::timestamptz[])
             AS a(id, version, next_fire_at, previous_fire_at, fired, state, misfire_until, paused_reason, replan_at)
       -- The redundant ANY lets the planner probe the primary key instead of hashing the whole table.
       -- The version check holds anyway under FOR UPDATE; it documents and enforces that the plan was
       -- made from this very row.
       WHERE t.id = a.id AND t.id = ANY(${advances.map((a) => a.id)}::bigint[]) AND t.version = a.version
      -- The fire's names come from the row this transaction holds locked (FOR UPDATE: they cannot differ
      -- from what the planner read), not sent back as three more arrays per batch (docs/performance.md).
      RETURNING t.id, t.name, t.group_name, t.job_name
    ), input AS (
      SELECT * FROM unnest(${fires.map((f) => f.triggerId)}::bigint[],
                           ${fires.map((f) => f.scheduledAt)}::timestamptz[],
                           ${fires.map((f) => (f.data === null ? null : JSON.stringify(f.data)))}::jsonb[],
                           ${fires.map((f) => f.status)}::text[], ${sparse(fires, (f) => f.error)}::text[],
                           ${sparse(fires, (f) => (f.traceContext ? JSON.stringify(f.traceContext) : null))}::jsonb[],
                           ${sparse(fires, (f) => (f.delayMs === 0 ? null : f.delayMs))}::float8[])
             AS i(trigger_id, scheduled_at, data, status, error, trace_context, delay_ms)
    ), fired AS (
      INSERT INTO ${table(ex, 'fires')}
             (trigger_id, trigger_name, trigger_group, job_name, scheduled_at, fired_at, instance_id, data, trace_context)
      SELECT input.trigger_id, advanced.name, advanced.group_name, advanced.job_name, input.scheduled_at, ${now},
             ${params.instanceId}::uuid, input.data, input.trace_context
        -- A fire is recorded only with its trigger's advance (a row that did not advance records nothing).
        FROM input JOIN advanced ON advanced.id = input.trigger_id
      -- A fire the constraint already holds is skipped alone; the rest of the batch goes on.
      ON CONFLICT ON CONSTRAINT fires_once DO NOTHING
      RETURNING id, trigger_id, scheduled_at, fired_at, job_name
    ), started AS (
      INSERT INTO ${table(ex, 'executions')}
             (fire_id, scheduled_at, attempt, job_name, status, instance_id, run_at, started_at, finished_at, error, trace_id)
      SELECT fired.id, fired.scheduled_at, 1, fired.job_name, input.status,
             CASE WHEN input.status <> 'pending' THEN ${params.instanceId}::uuid END,
             ${now} + coalesce(input.delay_ms, 0) * interval '1 millisecond',
             -- The moment the row is written (not the transaction's start: job_history's lag must not hide
             -- the time a batch takes), or the scheduled time when acquired ahead of it (the executor
             -- holds the start until then).
             CASE WHEN input.status = 'running'
                  THEN greatest(${params.now ? now : dbClock(ex)}, input.scheduled_at) END,
             CASE WHEN input.status IN ('running', 'pending') THEN NULL ELSE ${now} END, input.error,
             -- The trace id of the fire's W3C traceparent ("00-<trace id>-<span id>-<flags>"), for job_history.
             nullif(split_part(input.trace_context->>'traceparent', '-', 2), '')
        FROM fired JOIN input ON input.trigger_id = fired.trigger_id AND input.scheduled_at = fired.scheduled_at
      RETURNING id, fire_id, status
    )
    -- The fires and the executions as separate rows, paired up below: joining the two CTEs here planned
    -- as a nested loop on their one-row estimates, 250,000 comparisons and half the statement's time
    -- at a batch of 500 (docs/performance.md).
    SELECT fired.id AS fire_id, fired.trigger_id, fired.scheduled_at, fired.fired_at, NULL::bigint AS execution_id,
           NULL::text AS status
      FROM fired
    UNION ALL
    SELECT started.fire_id, NULL, NULL, NULL, started.id, started.status FROM started`.execute(ex.db);
  const firesById = new Map<string, { triggerId: string; scheduledAt: Date; firedAt: Date }>();
  for (const row of rows)
    if (row.execution_id === null)
      firesById.set(row.fire_id, {
        triggerId: row.trigger_id,
        scheduledAt: row.scheduled_at,
        firedAt: row.fired_at,
      });
  const recorded: RecordedFire[] = [];
  for (const row of rows) {
    if (row.execution_id === null) continue;
    const fire = firesById.get(row.fire_id)!;
    recorded.push({
      executionId: row.execution_id,
      fireId: row.fire_id,
      triggerId: fire.triggerId,
      scheduledAt: fire.scheduledAt,
      firedAt: fire.firedAt,
      status: row.status,
    });
  }
  return recorded;
}

/**
 * One column of a batch as an array parameter, or null when every entry is null (the common case for
 * errors, trace contexts, delays and the rarer advance fields): pg then encodes and PostgreSQL parses
 * nothing for it, and `unnest` pads the missing column with nulls.
 */
function sparse<T, V>(items: readonly T[], value: (item: T) => V | null): (V | null)[] | null {
  let any = false;
  const values = items.map((item) => {
    const v = value(item);
    if (v !== null) any = true;
    return v;
  });
  return any ? values : null;
}

/**
 * Milliseconds until the earliest due trigger or pending execution this replica could take, measured
 * by the database clock (so a replica with a skewed clock still sleeps the right time); null when none.
 */
export async function nextDueDelayMs(
  ex: Executor,
  params: { jobs: readonly string[] },
): Promise<number | null> {
  const { rows } = await sql<{ delay_ms: number | null }>`
    SELECT ${nextDueDelay(ex, params.jobs as string[])} AS delay_ms`.execute(ex.db);
  const delay = rows[0]?.delay_ms;
  return delay === null || delay === undefined ? null : Math.max(0, delay);
}

/** The expression behind `nextDueDelayMs`, shared with the acquisition's idle answer. */
function nextDueDelay(ex: Executor, jobs: string[]): RawBuilder<number | null> {
  return sql<number | null>`(extract(epoch FROM least(
              -- ORDER BY … LIMIT 1, not min(): with the paused-job check, min() is an aggregate over every
              -- waiting trigger (a sequential scan, 0.8 s at 1,000,000 triggers), where this walks
              -- triggers_due from its first entry and stops at the first trigger of an unpaused job.
              (SELECT t.next_fire_at FROM ${table(ex, 'triggers')} t
                WHERE t.state = 'waiting' AND t.job_name = ANY(${jobs}::text[])
                  AND NOT EXISTS (SELECT 1 FROM ${table(ex, 'jobs')} j WHERE j.name = t.job_name AND j.paused)
                ORDER BY t.next_fire_at LIMIT 1),
              (SELECT min(e.run_at) FROM ${table(ex, 'executions')} e
                WHERE e.status = 'pending' AND e.job_name = ANY(${jobs}::text[])),
              -- A schedule change waiting for its replan is due at once.
              (SELECT t.replan_at FROM ${table(ex, 'triggers')} t
                WHERE t.replan_at IS NOT NULL AND t.state = 'waiting' AND t.job_name = ANY(${jobs}::text[])
                  AND NOT EXISTS (SELECT 1 FROM ${table(ex, 'jobs')} j WHERE j.name = t.job_name AND j.paused)
                ORDER BY t.replan_at LIMIT 1)
            ) - ${dbClock(ex)}) * 1000)::float8`;
}
