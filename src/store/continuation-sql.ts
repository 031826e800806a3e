/**
 * The continuation part of the completion statement (execution-store.ts `completeExecutions`): given the
 * CTE `finished` (the attempts whose outcome this statement records), fire the `after:` triggers their
 * final outcomes call for, in the same statement, so the outcome and its continuations commit together.
 *
 * - `final`: finished attempts with no retry coming (the fire's outcome is settled). Empty, at the cost
 *   of one probe of a partial index, when no `after:` trigger exists.
 * - single upstream (`after: { job, on }`): one fire per (after-trigger, upstream fire), whose unique
 *   index `fires_continuation_once` is the exactly-once key: an operator's retry or re-run that ends
 *   again in a matching outcome finds it taken and fires nothing more.
 * - fan-in (`after: { all, within }`): each success is added to `fan_in_arrivals` for its schedule time
 *   with INSERT … ON CONFLICT DO UPDATE, which waits for a concurrent completer of the same key and then
 *   sees its arrival: whichever transaction completes the set sees it complete. The fire's unique index
 *   `fires_fan_in_once` (after-trigger, schedule time) makes it once.
 * Both kinds are recorded like one-off fires due now: a fire row (trigger_id NULL, `after_trigger_id`
 * naming the trigger, the upstream's schedule time and trace context) and a pending first attempt that
 * any replica running the job claims. The result is the CTE `continued` (the attempts created).
 */
import { sql, type RawBuilder } from 'kysely';
import { table, type Executor } from './executor.js';

/**
 * The two kinds of continuation fire, recorded by one INSERT each: `from` the CTE of what to fire, into
 * the CTE `cte`, with `origin`; each is made once by its unique index on `onceBy`,
 * partial on that origin (named in the conflict target so PostgreSQL infers it).
 */
const CONTINUATION_FIRES = [
  // scheduled_at ends the continuation key because the unique index of a partitioned table must hold the
  // partition key (migrations/0011); the upstream fire determines it, so the key is the same.
  {
    cte: 'single_fired',
    from: 'single',
    origin: 'continuation',
    onceBy: ['after_trigger_id', 'upstream_fire_id', 'scheduled_at'],
  },
  { cte: 'fan_in_fired', from: 'fan_in', origin: 'fan-in', onceBy: ['after_trigger_id', 'scheduled_at'] },
] as const;

/** The CTE `kind.cte`: one kind's INSERT of its fires, each once (DO NOTHING on its unique index). */
function insertFires(
  ex: Executor,
  kind: (typeof CONTINUATION_FIRES)[number],
  params: { instanceId: string; now: RawBuilder<Date> },
): RawBuilder<unknown> {
  return sql`${sql.id(kind.cte)} AS (
      INSERT INTO ${table(ex, 'fires')} (trigger_id, trigger_name, trigger_group, job_name, scheduled_at, fired_at,
             instance_id, data, trace_context, origin, after_trigger_id, upstream_fire_id, upstream_fire_ids)
      SELECT NULL, name, group_name, job_name, scheduled_at, ${params.now}, ${params.instanceId}::uuid, data, trace_context,
             ${sql.lit(kind.origin)}, after_trigger_id, upstream_fire_id, upstream_fire_ids
        FROM ${sql.id(kind.from)}
      ON CONFLICT (${sql.join(kind.onceBy.map((column) => sql.id(column)))}) WHERE origin = ${sql.lit(kind.origin)} DO NOTHING
      RETURNING id, job_name, scheduled_at
    )`;
}

export function continuationCtes(
  ex: Executor,
  params: { instanceId: string; now: RawBuilder<Date> },
): RawBuilder<unknown> {
  const { now } = params;
  const t = table(ex, 'triggers');
  const j = table(ex, 'jobs');
  return sql`final AS MATERIALIZED (
      SELECT fin.fire_id, fin.job_name, fin.status, f.scheduled_at, f.trace_context
        FROM finished fin JOIN ${table(ex, 'fires')} f ON f.id = fin.fire_id AND f.scheduled_at = fin.scheduled_at
       WHERE fin.retry_after_ms IS NULL AND fin.status IN ('succeeded', 'failed', 'timed_out')
         AND EXISTS (SELECT 1 FROM ${t} WHERE kind = 'after')
    ), single AS (
      SELECT t.id AS after_trigger_id, t.name, t.group_name, t.job_name,
             j.data || coalesce(t.data, '{}'::jsonb) AS data, fl.fire_id AS upstream_fire_id,
             ARRAY[fl.fire_id] AS upstream_fire_ids, fl.scheduled_at, fl.trace_context
        FROM final fl
        JOIN ${t} t ON t.kind = 'after' AND t.spec->>'job' = fl.job_name
        JOIN ${j} j ON j.name = t.job_name
       WHERE t.state <> 'paused' AND NOT j.paused
         AND (coalesce(t.spec->'on', '["succeeded"]'::jsonb) ? fl.status OR t.spec->'on' ? 'any')
    ), arriving AS (
      SELECT t.id AS after_trigger_id, fl.scheduled_at, array_agg(DISTINCT fl.job_name) AS jobs,
             array_agg(fl.fire_id) AS fire_ids
        FROM final fl JOIN ${t} t ON t.kind = 'after' AND t.spec->'all' ? fl.job_name
       WHERE fl.status = 'succeeded' AND t.state <> 'paused'
       GROUP BY t.id, fl.scheduled_at
    ), arrived AS (
      INSERT INTO ${table(ex, 'fan_in_arrivals')} AS a (after_trigger_id, scheduled_at, jobs, fire_ids, first_at, updated_at)
      SELECT after_trigger_id, scheduled_at, jobs, fire_ids, ${now}, ${now} FROM arriving
      ON CONFLICT (after_trigger_id, scheduled_at) DO UPDATE
         SET jobs = ARRAY(SELECT DISTINCT x FROM unnest(a.jobs || excluded.jobs) x ORDER BY x),
             fire_ids = a.fire_ids || excluded.fire_ids, updated_at = excluded.updated_at
      RETURNING a.after_trigger_id, a.scheduled_at, a.jobs, a.fire_ids, a.first_at, a.updated_at
    ), fan_in AS (
      SELECT t.id AS after_trigger_id, t.name, t.group_name, t.job_name,
             j.data || coalesce(t.data, '{}'::jsonb) AS data, a.fire_ids[cardinality(a.fire_ids)] AS upstream_fire_id,
             a.fire_ids AS upstream_fire_ids, a.scheduled_at, NULL::jsonb AS trace_context
        FROM arrived a JOIN ${t} t ON t.id = a.after_trigger_id JOIN ${j} j ON j.name = t.job_name
       WHERE NOT j.paused
         AND ARRAY(SELECT jsonb_array_elements_text(t.spec->'all')) <@ a.jobs
         AND (t.spec->'withinMs' IS NULL
              OR a.updated_at - a.first_at <= (t.spec->>'withinMs')::float8 * interval '1 millisecond')
    ), ${sql.join(
      CONTINUATION_FIRES.map((kind) => insertFires(ex, kind, params)),
      sql`, `,
    )}, continued AS (
      INSERT INTO ${table(ex, 'executions')} (fire_id, scheduled_at, attempt, job_name, status, run_at)
      ${sql.join(
        CONTINUATION_FIRES.map(
          (kind) => sql`SELECT id, scheduled_at, 1, job_name, 'pending', ${now} FROM ${sql.id(kind.cte)}`,
        ),
        sql` UNION ALL `,
      )}
      RETURNING id
    )`;
}
