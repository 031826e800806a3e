/**
 * `fireNow` (decision 0010), for one job or a list of them: each one-off trigger, its fire and the fire's
 * pending first attempt, with one NOTIFY, in one statement. The trigger is inserted already fired
 * (`complete`, fired once, its previous fire the database's now), as the planner would leave it, so its
 * history is that of any one-off; any replica running the job claims the attempt with
 * `claimPendingExecutions` (one statement, `SKIP LOCKED` under its live identity) instead of a
 * four-round-trip acquisition. `fires_once` still makes each fire once; the fire's `instance_id` is null
 * (no replica recorded it), which tells the claimer to announce it. A list costs one round trip and one
 * wake-up instead of N, as graphile-worker's `addJobs` and River's `InsertMany` do for theirs.
 *
 * A job that is paused or `concurrency: forbid` gets waiting one-offs due now instead: the planner's lock
 * is what holds a paused job's fire and judges "is the previous run still going?". An unknown job fails
 * the triggers' foreign key and nothing is written.
 */
import { sql } from 'kysely';
import { changeChannel, dbNow, table, type Executor } from './executor.js';
import { ONE_OFF_NOTIFY } from './definition-store.js';

/** The NOTIFY payload of a `fireNow` recorded with its pending attempt: wake and claim it first. */
export const FIRED_NOW_NOTIFY = 'pending';

export interface FireNowItem {
  /** The one-off trigger's name (unique). */
  name: string;
  data: Record<string, unknown> | null;
}

/** Records every item (at least one) in one statement; returns whether they were fired here. */
export async function recordFiresNow(
  ex: Executor,
  params: { job: string; group: string; items: readonly FireNowItem[]; now?: Date },
): Promise<{ fired: boolean }> {
  const now = dbNow(ex, params.now);
  const names = params.items.map((item) => item.name);
  const data = params.items.map((item) => (item.data === null ? null : JSON.stringify(item.data)));
  const { rows } = await sql<{ fired: boolean }>`
    WITH job AS MATERIALIZED (
      SELECT j.data, NOT j.paused AND j.concurrency <> 'forbid' AS direct
        FROM ${table(ex, 'jobs')} j WHERE j.name = ${params.job}
    ), s AS MATERIALIZED (
      SELECT ${now} AS at, coalesce((SELECT direct FROM job), false) AS direct
    ), inserted AS (
      INSERT INTO ${table(ex, 'triggers')} (name, group_name, job_name, kind, spec, data, state, next_fire_at,
                                            previous_fire_at, times_fired, max_fires, source, misfire_policy)
      SELECT u.name, ${params.group}, ${params.job}, 'once', jsonb_build_object('kind', 'once', 'at', to_json(s.at)),
             u.data, CASE WHEN s.direct THEN 'complete' ELSE 'waiting' END, CASE WHEN s.direct THEN NULL ELSE s.at END,
             CASE WHEN s.direct THEN s.at END, CASE WHEN s.direct THEN 1 ELSE 0 END, 1, 'api', 'fire-once-now'
        FROM s, unnest(${names}::text[], ${data}::jsonb[]) AS u(name, data)
      RETURNING id, name, group_name, job_name, data, previous_fire_at, state = 'complete' AS fired
    ), fired AS (
      INSERT INTO ${table(ex, 'fires')} (trigger_id, trigger_name, trigger_group, job_name, scheduled_at, fired_at, data)
      SELECT i.id, i.name, i.group_name, i.job_name, i.previous_fire_at, ${now}, job.data || coalesce(i.data, '{}'::jsonb)
        FROM inserted i, job WHERE i.fired
      RETURNING id, job_name, scheduled_at
    ), pending AS (
      INSERT INTO ${table(ex, 'executions')} (fire_id, scheduled_at, attempt, job_name, status, run_at)
      SELECT id, scheduled_at, 1, job_name, 'pending', ${now} FROM fired
      RETURNING id
    )
    SELECT s.direct AS fired,
           pg_notify(${changeChannel(ex.schema)}, CASE WHEN EXISTS (SELECT 1 FROM pending) THEN ${FIRED_NOW_NOTIFY} ELSE ${ONE_OFF_NOTIFY} END)
      FROM s WHERE EXISTS (SELECT 1 FROM inserted)`.execute(ex.db);
  return { fired: rows[0]?.fired ?? false };
}
