/**
 * Jobs, triggers and calendars as stored: what reconcile (config/) and the admin operations read and
 * write. Callers compose these inside one transaction so an apply is all or nothing.
 *
 * None of these decides when a trigger fires next (architecture invariant 6). A schedule change (a new
 * spec, a calendar edit) only records `replan_at`, the database time of the change, and makes the row
 * acquirable; the fire planner computes the next fire under the acquisition lock (engine/fire-planner.ts).
 * Only a new trigger gets its first fire here: nothing can have raced a row that did not exist.
 * A changed spec also appends the spec it replaces to `superseded_schedules`, with the time of the change,
 * so the planner still owes the old schedule's times up to the change (docs/decisions/0004-replanning.md).
 */
import { sql, type Selectable } from 'kysely';
import { dbClock, changeChannel, dbNow, notifyChange, table, type Executor } from './executor.js';
import type { TriggersTable } from './tables.js';
import {
  triggerScheduleFromRow,
  type TriggerRecord,
  type TriggerSchedule,
  type TriggerScheduleRow,
} from './trigger-row.js';

export interface BackoffRecord {
  initialMs: number;
  maxMs: number;
  factor: number;
}

export interface JobRecord {
  name: string;
  module: string | null;
  exportName: string | null;
  description: string | null;
  data: Record<string, unknown>;
  concurrency: 'allow' | 'forbid';
  timeoutMs: number | null;
  maxAttempts: number;
  backoff: BackoffRecord;
  recover: boolean;
  source: string;
}

export interface StoredJob extends JobRecord {
  paused: boolean;
}

export type { TriggerRecord } from './trigger-row.js';

/** A trigger as stored: its definition, with its schedule's progress and its state. */
export interface StoredTrigger extends TriggerRecord, TriggerSchedule {
  state: 'waiting' | 'paused' | 'complete';
  /** Why the engine paused it (its schedule failed); null when running or paused by an operator. */
  pausedReason: string | null;
}

export async function databaseNow(ex: Executor): Promise<Date> {
  const { rows } = await sql<{ now: Date }>`SELECT ${dbClock(ex)} AS now`.execute(ex.db);
  return rows[0]!.now;
}

export async function listJobs(ex: Executor): Promise<StoredJob[]> {
  const rows = await ex.db.selectFrom('jobs').selectAll().orderBy('name').execute();
  return rows.map((row) => ({
    name: row.name,
    module: row.module,
    exportName: row.export_name,
    description: row.description,
    data: row.data,
    concurrency: row.concurrency,
    timeoutMs: row.timeout_ms,
    maxAttempts: row.max_attempts,
    backoff: row.backoff as unknown as BackoffRecord,
    recover: row.recover,
    source: row.source,
    paused: row.paused,
  }));
}

function jobValues(job: JobRecord) {
  return {
    name: job.name,
    module: job.module,
    export_name: job.exportName,
    description: job.description,
    data: JSON.stringify(job.data),
    concurrency: job.concurrency,
    timeout_ms: job.timeoutMs,
    max_attempts: job.maxAttempts,
    backoff: JSON.stringify(job.backoff),
    recover: job.recover,
    source: job.source,
  };
}

export async function upsertJob(ex: Executor, job: JobRecord): Promise<void> {
  const values = jobValues(job);
  const { name: _name, ...changes } = values;
  await ex.db
    .insertInto('jobs')
    .values(values)
    .onConflict((oc) => oc.column('name').doUpdateSet({ ...changes, updated_at: dbNow(ex) }))
    .execute();
}

/**
 * Publishes a job registered in code. A job that YAML or the API defined keeps that definition: code
 * registration only fills in what no one declared.
 */
export async function publishCodeJob(ex: Executor, job: JobRecord): Promise<void> {
  const { name: _name, ...changes } = jobValues(job);
  await ex.db
    .insertInto('jobs')
    .values(jobValues(job))
    .onConflict((oc) =>
      oc
        .column('name')
        .doUpdateSet({ ...changes, updated_at: dbNow(ex) })
        .where('jobs.source', '=', 'code'),
    )
    .execute();
}

export async function deleteJob(ex: Executor, params: { name: string }): Promise<boolean> {
  const result = await ex.db.deleteFrom('jobs').where('name', '=', params.name).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

function toStoredTrigger(
  row: TriggerScheduleRow &
    Pick<Selectable<TriggersTable>, 'priority' | 'state' | 'source' | 'paused_reason'>,
): StoredTrigger {
  return {
    ...triggerScheduleFromRow(row),
    priority: row.priority,
    state: row.state,
    source: row.source,
    pausedReason: row.paused_reason,
  };
}

/** Triggers per page of `belfry triggers` and `GET /api/v1/triggers` when none is asked for, and at most. */
export const TRIGGER_PAGE = { default: 1_000, max: 10_000 } as const;

/**
 * Triggers by name. `limit` and `after` page through them by keyset (names after the last one seen, in
 * name order, from the unique name index): each page costs the same at 1,000,000 triggers as at 1,000,
 * where an OFFSET would walk every row before the page. Without `limit`, every matching trigger.
 */
export async function listTriggers(
  ex: Executor,
  params: {
    names?: readonly string[];
    group?: string;
    job?: string;
    includeComplete?: boolean;
    /** Only names sorting after this one (the last name of the previous page). */
    after?: string;
    limit?: number;
  } = {},
): Promise<StoredTrigger[]> {
  let query = ex.db.selectFrom('triggers').selectAll().orderBy('name');
  if (params.names) query = query.where('name', 'in', params.names.length ? [...params.names] : ['\u0000']);
  if (params.group) query = query.where('group_name', '=', params.group);
  if (params.job) query = query.where('job_name', '=', params.job);
  if (!params.includeComplete) query = query.where('state', '<>', 'complete');
  if (params.after !== undefined) query = query.where('name', '>', params.after);
  if (params.limit !== undefined) query = query.limit(Math.max(1, params.limit));
  return (await query.execute()).map(toStoredTrigger);
}

/** The columns a definition sets (everything but identity and firing state). */
function triggerDefinitionColumns(trigger: TriggerRecord) {
  return {
    group_name: trigger.group,
    job_name: trigger.job,
    kind: trigger.kind,
    spec: JSON.stringify(trigger.spec),
    calendar_name: trigger.calendarName,
    data: trigger.data === null ? null : JSON.stringify(trigger.data),
    priority: trigger.priority,
    start_at: trigger.startAt,
    end_at: trigger.endAt,
    max_fires: trigger.maxFires,
    misfire_policy: trigger.misfirePolicy,
    misfire_threshold_ms: trigger.misfireThresholdMs,
    source: trigger.source,
  };
}

export async function insertTrigger(
  ex: Executor,
  params: { trigger: TriggerRecord; nextFireAt: Date | null; paused: boolean },
): Promise<string> {
  const { trigger } = params;
  const row = await ex.db
    .insertInto('triggers')
    .values({
      name: trigger.name,
      ...triggerDefinitionColumns(trigger),
      state: params.nextFireAt === null ? 'complete' : params.paused ? 'paused' : 'waiting',
      next_fire_at: params.nextFireAt,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await notifyChange(ex, 'triggers');
  return row.id;
}

/** Rows per statement of `insertTriggers`: 1,000 rows × 16 columns stay far below the 65,535 parameters. */
const INSERT_CHUNK = 1_000;

/**
 * Inserts new triggers (what `apply` adds), a thousand rows per statement and one NOTIFY for them all:
 * `insertTrigger` per row was two round trips per trigger, most of an apply of 100,000 triggers.
 */
export async function insertTriggers(
  ex: Executor,
  params: { triggers: readonly { trigger: TriggerRecord; nextFireAt: Date | null; paused: boolean }[] },
): Promise<void> {
  if (params.triggers.length === 0) return;
  for (let start = 0; start < params.triggers.length; start += INSERT_CHUNK) {
    const chunk = params.triggers.slice(start, start + INSERT_CHUNK);
    await ex.db
      .insertInto('triggers')
      .values(
        chunk.map(({ trigger, nextFireAt, paused }) => ({
          name: trigger.name,
          ...triggerDefinitionColumns(trigger),
          state:
            nextFireAt === null ? ('complete' as const) : paused ? ('paused' as const) : ('waiting' as const),
          next_fire_at: nextFireAt,
        })),
      )
      .execute();
  }
  await notifyChange(ex, 'triggers');
}

/**
 * Updates a trigger's definition. `reschedule` says the schedule changed (spec, start, end, count or
 * calendar): the change is recorded in `replan_at` and the planner takes it in under the acquisition lock;
 * `next_fire_at` is left alone, so a fire already due is neither skipped nor repeated. Without it the
 * schedule is untouched (a change of priority or data must not disturb when the trigger fires next).
 * Either way a trigger the engine paused because its schedule failed is resumed through a replan: the
 * new definition may be the fix, and if it is not the planner pauses it again.
 */
/** Most superseded schedules kept for one pending replan (see `supersede`). */
export const MAX_SUPERSEDED_SCHEDULES = 32;

/**
 * The spec in effect, appended to the trigger's superseded schedules with the database time of this
 * change (SET expressions read the row as it was). Each change appends one, so two changes before any
 * replica plans keep both old schedules, each up to its own change. Past MAX_SUPERSEDED_SCHEDULES
 * (changes far faster than any replica plans) nothing more is appended: the newest definition then
 * governs from the last recorded change on.
 */
function supersede(ex: Executor) {
  return sql`CASE WHEN jsonb_array_length(coalesce(superseded_schedules, '[]'::jsonb)) >= ${MAX_SUPERSEDED_SCHEDULES}
                  THEN superseded_schedules
                  ELSE coalesce(superseded_schedules, '[]'::jsonb)
                       || jsonb_build_array(jsonb_build_object('spec', spec, 'until', date_trunc('milliseconds', ${dbNow(ex)})))
             END`;
}

export async function updateTrigger(
  ex: Executor,
  params: {
    trigger: TriggerRecord;
    reschedule?: boolean;
    /** False: the caller sends one NOTIFY for many updates (`notifyTriggersChanged`). Default true. */
    notify?: boolean;
  },
): Promise<void> {
  const { trigger } = params;
  const reschedule = params.reschedule === true;
  await ex.db
    .updateTable('triggers')
    .set({
      ...triggerDefinitionColumns(trigger),
      version: sql`version + 1`,
      updated_at: dbNow(ex),
      replan_at: sql`CASE WHEN ${reschedule} OR paused_reason IS NOT NULL THEN coalesce(replan_at, ${dbNow(ex)})
                          ELSE replan_at END`,
      ...(reschedule ? { times_fired: 0, superseded_schedules: supersede(ex) } : {}),
      // A completed trigger comes back for the planner to judge; an operator's pause is kept.
      state: sql`CASE WHEN paused_reason IS NOT NULL THEN 'waiting'
                      WHEN ${reschedule} AND state = 'complete' THEN 'waiting' ELSE state END`,
      paused_reason: null,
    })
    .where('name', '=', trigger.name)
    .execute();
  if (params.notify !== false) await notifyChange(ex, 'triggers');
}

/** Tells the replicas that triggers changed: the one NOTIFY after updates made with `notify: false`. */
export async function notifyTriggersChanged(ex: Executor): Promise<void> {
  await notifyChange(ex, 'triggers');
}

export async function deleteTriggers(ex: Executor, params: { names: readonly string[] }): Promise<number> {
  if (params.names.length === 0) return 0;
  const result = await ex.db
    .deleteFrom('triggers')
    .where('name', 'in', [...params.names])
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

export type PauseTarget = { trigger: string } | { job: string } | { group: string } | { all: true };

/**
 * Pauses or resumes triggers. Resuming leaves `next_fire_at` where it was, so the fires missed while
 * paused reach the acquirer late and its misfire policy decides what happens to them.
 */
export async function setTriggersPaused(
  ex: Executor,
  params: { target: PauseTarget; paused: boolean },
): Promise<number> {
  const { target, paused } = params;
  let query = ex.db
    .updateTable('triggers')
    .set({
      // A continuation trigger (kind after) has no time schedule: it rests `complete`, and pauses from there.
      state: paused
        ? 'paused'
        : sql<'waiting' | 'complete'>`CASE WHEN kind = 'after' THEN 'complete' ELSE 'waiting' END`,
      updated_at: dbNow(ex),
      // A trigger the engine paused (its schedule failed) has no next fire: resuming it asks for a replan.
      ...(paused
        ? {}
        : {
            replan_at: sql`CASE WHEN paused_reason IS NOT NULL THEN coalesce(replan_at, ${dbNow(ex)}) ELSE replan_at END`,
            paused_reason: null,
          }),
    })
    .where((eb) =>
      paused
        ? eb.or([
            eb('state', '=', 'waiting'),
            eb.and([eb('state', '=', 'complete'), eb('kind', '=', 'after')]),
          ])
        : eb('state', '=', 'paused'),
    );
  if ('trigger' in target) query = query.where('name', '=', target.trigger);
  if ('job' in target) query = query.where('job_name', '=', target.job);
  if ('group' in target) query = query.where('group_name', '=', target.group);
  const result = await query.executeTakeFirst();
  if ('job' in target) {
    await ex.db.updateTable('jobs').set({ paused }).where('name', '=', target.job).execute();
  }
  if (!paused) await notifyChange(ex, 'triggers');
  return Number(result.numUpdatedRows);
}

/** The NOTIFY payload of a new one-off trigger: wake and acquire; no definition or calendar changed. */
export const ONE_OFF_NOTIFY = 'fire';

/**
 * Creates a one-off trigger due at `at` (default: the database's now) for `fireNow`/`scheduleAt`.
 *
 * One statement (the insert and its NOTIFY together: one round trip, the latency of every `fireNow`), and
 * the NOTIFY says `fire`, not `triggers`: replicas wake to acquire it, but a one-off touches no calendar,
 * so they keep their calendars and compiled schedules instead of reloading them (docs/performance.md).
 */
export async function insertOneOffTrigger(
  ex: Executor,
  params: {
    name: string;
    job: string;
    group: string;
    at: Date | null;
    data: Record<string, unknown> | null;
    now?: Date;
  },
): Promise<string> {
  const { rows } = await sql<{ id: string }>`
    WITH inserted AS (
      INSERT INTO ${table(ex, 'triggers')} (name, group_name, job_name, kind, spec, data, state, next_fire_at, max_fires,
                                            source, misfire_policy)
      SELECT ${params.name}, ${params.group}, ${params.job}, 'once',
             jsonb_build_object('kind', 'once', 'at', to_json(at)), ${params.data === null ? null : JSON.stringify(params.data)}::jsonb,
             'waiting', at, 1, 'api', 'fire-once-now'
        FROM (SELECT coalesce(${params.at}::timestamptz, ${dbNow(ex, params.now)}) AS at) s
      RETURNING id
    )
    SELECT id, pg_notify(${changeChannel(ex.schema)}, ${ONE_OFF_NOTIFY}) FROM inserted`.execute(ex.db);
  return rows[0]!.id;
}

/**
 * Changes whenever a calendar is added, edited or deleted: lets a replica tell, inside a transaction,
 * whether the calendars it compiled schedules with are still the stored ones.
 */
export async function calendarsStamp(ex: Executor): Promise<string> {
  const { rows } = await sql<{ stamp: string }>`
    SELECT count(*) || '@' || coalesce(max(updated_at)::text, '-') AS stamp FROM ${table(ex, 'calendars')}`.execute(
    ex.db,
  );
  return rows[0]!.stamp;
}

export async function listCalendars(
  ex: Executor,
): Promise<{ name: string; spec: unknown; source: string }[]> {
  return ex.db.selectFrom('calendars').select(['name', 'spec', 'source']).orderBy('name').execute();
}

/**
 * Records that the schedules built on a calendar changed (it was added, edited or deleted): triggers that
 * use it, directly or through a chain of base calendars, get a replan (and a new version, so compiled
 * schedules are rebuilt); triggers the engine paused because their schedule failed are resumed the same
 * way, since this change may be their fix. Replicas are told to reload calendars.
 */
export async function markCalendarChanged(ex: Executor, params: { name: string }): Promise<number> {
  const result = await sql`
    WITH RECURSIVE affected(name) AS (
      SELECT ${params.name}::text
      UNION
      SELECT c.name FROM ${table(ex, 'calendars')} c JOIN affected a ON c.spec->>'base' = a.name
    )
    UPDATE ${table(ex, 'triggers')}
       SET replan_at = coalesce(replan_at, ${dbNow(ex)}), version = version + 1, updated_at = ${dbNow(ex)},
           state = CASE WHEN paused_reason IS NOT NULL THEN 'waiting' ELSE state END, paused_reason = NULL
     WHERE state <> 'complete'
       AND (calendar_name IN (SELECT name FROM affected) OR paused_reason IS NOT NULL)`.execute(ex.db);
  await notifyChange(ex, 'calendars');
  return Number(result.numAffectedRows ?? 0n);
}

export async function upsertCalendar(
  ex: Executor,
  params: { name: string; spec: unknown; source: string },
): Promise<void> {
  await ex.db
    .insertInto('calendars')
    .values({ name: params.name, spec: JSON.stringify(params.spec), source: params.source })
    .onConflict((oc) =>
      oc
        .column('name')
        .doUpdateSet({ spec: JSON.stringify(params.spec), source: params.source, updated_at: dbNow(ex) }),
    )
    .execute();
  await markCalendarChanged(ex, { name: params.name });
}

export async function deleteCalendar(ex: Executor, params: { name: string }): Promise<void> {
  await markCalendarChanged(ex, { name: params.name });
  await ex.db.deleteFrom('calendars').where('name', '=', params.name).execute();
}
