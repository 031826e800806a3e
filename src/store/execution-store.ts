/**
 * Execution attempts: claiming pending ones (retries, recoveries, hand-backs), recording outcomes,
 * scheduling retries, handing back attempts that never started.
 *
 * Every write made for this replica is guarded twice, in the same statement:
 * - by the identity: the instance must be active, its row locked FOR SHARE (`liveInstanceGuard`), so the
 *   write serializes with the leader's declare-dead; under a dead identity it throws InstanceFencedError
 *   and changes nothing;
 * - by the row: `status = 'running' AND instance_id = me`, so an outcome can never overwrite an attempt
 *   the leader already recovered, re-dispatched or abandoned.
 */
import { sql, type Selectable } from 'kysely';
import { changeChannel, dbNow, table, type Executor } from './executor.js';
import { continuationCtes } from './continuation-sql.js';
import type { JobSettings } from './fire-store.js';
import { InstanceFencedError, liveInstanceGuard } from './instance-store.js';
import { inScheduledMs } from './scheduled-key.js';
import type { ExecutionStatus, ExecutionsTable, FiresTable, JobsTable } from './tables.js';

export interface ClaimedExecution {
  executionId: string;
  fireId: string;
  attempt: number;
  triggerId: string | null;
  triggerName: string;
  group: string;
  job: string;
  scheduledAt: Date;
  firedAt: Date;
  data: Record<string, unknown> | null;
  traceContext: Record<string, string> | null;
  settings: JobSettings;
  /**
   * The replica that recorded the fire; null for a `fireNow` fire, recorded by its caller with its pending
   * first attempt (fire-now-store.ts `recordFiresNow`), whose claim is the fire's first appearance to a replica.
   */
  firedBy: string | null;
}

/** A claimed row, typed from the tables it is read from (tables.ts), plus the guard's verdict. */
type ClaimRow = { alive: boolean; id: string | null } & Pick<
  Selectable<ExecutionsTable>,
  'fire_id' | 'attempt'
> &
  Pick<
    Selectable<FiresTable>,
    | 'trigger_id'
    | 'trigger_name'
    | 'trigger_group'
    | 'job_name'
    | 'scheduled_at'
    | 'fired_at'
    | 'data'
    | 'trace_context'
  > &
  Pick<Selectable<JobsTable>, 'timeout_ms' | 'max_attempts' | 'backoff' | 'recover'> & {
    fired_by: string | null;
  };

/**
 * Claims up to `limit` pending executions whose time has come, for this replica to run now. Throws
 * InstanceFencedError, claiming nothing, when `instanceId` is no longer active.
 *
 * A pending attempt whose job row is gone (deleted by `belfry delete` or an apply with --prune, while
 * this replica still has the job registered in code) can never run: its settings are gone with the row.
 * The same statement finishes it as `abandoned`, saying why, instead of claiming it: a claimed attempt
 * without settings would stay `running` under a live instance, neither run nor recovered.
 */
export async function claimPendingExecutions(
  ex: Executor,
  params: { instanceId: string; jobs: readonly string[]; limit: number; now?: Date },
): Promise<ClaimedExecution[]> {
  const now = dbNow(ex, params.now);
  const { rows } = await sql<ClaimRow>`
    WITH alive AS MATERIALIZED (${liveInstanceGuard(ex, params)}),
    -- With the statistics of a backlog written seconds ago, the planner expects one pending row and reads
    -- them all before its sort, so the scan's per-row work is kept small (docs/performance.md): the job rows
    -- are looked up after the limit, not joined here; and the job filter is written (…) IS TRUE, which no
    -- index can take as a condition, so the scan goes by executions_pending (pending rows only) rather than
    -- executions_running_job (running ones too, which a draining backlog has as many of).
    locked AS MATERIALIZED (
      SELECT e.id, e.scheduled_at, e.fire_id, e.job_name
        FROM ${table(ex, 'executions')} e
       WHERE e.status = 'pending' AND e.run_at <= ${now} AND (e.job_name = ANY(${params.jobs as string[]}::text[])) IS TRUE
         AND EXISTS (SELECT 1 FROM alive)
       ORDER BY e.run_at LIMIT ${params.limit} FOR UPDATE OF e SKIP LOCKED
    ),
    due AS MATERIALIZED (
      SELECT l.id, l.scheduled_at, EXISTS (SELECT 1 FROM ${table(ex, 'jobs')} j WHERE j.name = l.job_name) AS job_exists,
             l.fire_id
        FROM locked l
    ),
    -- A backfilled fire with overlap "skip" (migrations/0009) is skipped when another backfilled run of its
    -- trigger is running; one due with an earlier backfilled fire of its trigger in this batch waits (stays
    -- pending) for the next claim, which judges it against that one.
    backfilled AS MATERIALIZED (
      SELECT p.id, f.trigger_id, f.scheduled_at
        FROM due p JOIN ${table(ex, 'fires')} f ON f.id = p.fire_id AND f.scheduled_at = p.scheduled_at
       WHERE f.backfill_overlap = 'skip' AND p.job_exists
    ),
    overlapping AS MATERIALIZED (
      SELECT b.id FROM backfilled b
       WHERE EXISTS (SELECT 1 FROM ${table(ex, 'fires')} o
                       JOIN ${table(ex, 'executions')} oe ON oe.fire_id = o.id AND oe.scheduled_at = o.scheduled_at
                      WHERE o.trigger_id = b.trigger_id AND o.origin = 'backfill' AND oe.status = 'running')
    ),
    deferred AS MATERIALIZED (
      SELECT b.id FROM backfilled b
       WHERE b.id NOT IN (SELECT id FROM overlapping)
         AND EXISTS (SELECT 1 FROM backfilled c
                      WHERE c.trigger_id = b.trigger_id AND (c.scheduled_at, c.id) < (b.scheduled_at, b.id))
    ),
    skipped AS (
      UPDATE ${table(ex, 'executions')} e
         SET status = 'skipped', instance_id = ${params.instanceId}::uuid, finished_at = ${now},
             error = 'skipped: backfill overlap skip and another backfilled run of this trigger was running'
        FROM overlapping o JOIN due p ON p.id = o.id
       WHERE e.id = p.id AND e.scheduled_at = p.scheduled_at
      RETURNING e.id
    ),
    claimed AS (
      UPDATE ${table(ex, 'executions')} e
         SET status = 'running', instance_id = ${params.instanceId}::uuid, started_at = ${now}
        FROM due p
       -- scheduled_at, the partition key, takes each row from its one partition (migrations/0011).
       WHERE e.id = p.id AND e.scheduled_at = p.scheduled_at AND p.job_exists
         AND p.id NOT IN (SELECT id FROM overlapping) AND p.id NOT IN (SELECT id FROM deferred)
      RETURNING e.id, e.fire_id, e.scheduled_at, e.attempt
    ),
    orphaned AS (
      UPDATE ${table(ex, 'executions')} e
         SET status = 'abandoned', instance_id = ${params.instanceId}::uuid, finished_at = ${now},
             error = 'abandoned: job ' || quote_literal(e.job_name) || ' no longer exists (deleted before this attempt ran)'
        FROM due p
       WHERE e.id = p.id AND e.scheduled_at = p.scheduled_at AND NOT p.job_exists
      RETURNING e.id
    )
    -- One row even when nothing was claimed, so that "fenced" and "nothing pending" differ.
    SELECT EXISTS (SELECT 1 FROM alive) AS alive, x.*
      FROM (SELECT (SELECT count(*) FROM orphaned) + (SELECT count(*) FROM skipped)) one
      LEFT JOIN (SELECT c.id, c.fire_id, c.attempt, f.trigger_id, f.trigger_name, f.trigger_group, f.job_name,
                        f.scheduled_at, f.fired_at, f.data, f.trace_context, f.instance_id AS fired_by, j.timeout_ms, j.max_attempts,
                        j.backoff, j.recover
                   FROM claimed c JOIN ${table(ex, 'fires')} f ON f.id = c.fire_id AND f.scheduled_at = c.scheduled_at
                   JOIN ${table(ex, 'jobs')} j ON j.name = f.job_name) x ON true`.execute(ex.db);
  if (!rows[0]?.alive) throw new InstanceFencedError(params.instanceId);
  const claimed = rows.filter((row): row is (typeof rows)[number] & { id: string } => row.id !== null);
  return claimed.map((row) => ({
    executionId: row.id,
    fireId: row.fire_id,
    attempt: row.attempt,
    triggerId: row.trigger_id,
    triggerName: row.trigger_name,
    group: row.trigger_group,
    job: row.job_name,
    scheduledAt: row.scheduled_at,
    firedAt: row.fired_at,
    data: row.data,
    traceContext: row.trace_context,
    settings: {
      timeoutMs: row.timeout_ms,
      maxAttempts: row.max_attempts,
      backoff: row.backoff as JobSettings['backoff'],
      recover: row.recover,
    },
    firedBy: row.fired_by,
  }));
}

export type FinalStatus = Extract<
  ExecutionStatus,
  'succeeded' | 'failed' | 'timed_out' | 'abandoned' | 'recovered' | 'vetoed'
>;

export interface ExecutionOutcome {
  executionId: string;
  /** The fire's scheduled time: the partition key, so the outcome's write touches one partition. */
  scheduledAt: Date;
  status: FinalStatus;
  error: string | null;
  result: unknown;
  traceId: string | null;
  /** When set, the next attempt is inserted as pending, due this many ms from now (database time). */
  retryAfterMs: number | null;
}

/**
 * Records outcomes in one statement (the executor batches them), inserts the retries they ask for, and
 * fires the continuations of the final ones (continuation-sql.ts), all or nothing: a crash before the
 * commit loses neither the outcome nor its continuation, and after it neither is written twice.
 * Returns the ids whose outcome was recorded (an id missing from it had been taken from this replica)
 * and how many continuation fires the statement created. Throws InstanceFencedError, recording nothing,
 * when `instanceId` is no longer active.
 */
export async function completeExecutions(
  ex: Executor,
  params: { instanceId: string; outcomes: readonly ExecutionOutcome[]; now?: Date },
): Promise<Set<string>> {
  return (await completeExecutionsCounted(ex, params)).recorded;
}

export async function completeExecutionsCounted(
  ex: Executor,
  params: { instanceId: string; outcomes: readonly ExecutionOutcome[]; now?: Date },
): Promise<{ recorded: Set<string>; continuations: number }> {
  const { outcomes } = params;
  if (outcomes.length === 0) return { recorded: new Set(), continuations: 0 };
  const now = dbNow(ex, params.now);
  // The batch's span of scheduled times, as constants: the planner keeps only the partitions of those
  // weeks (usually one) whatever plan it picks for the join below (migrations/0011).
  const times = outcomes.map((o) => o.scheduledAt.getTime());
  const spanEnd = new Date(Math.max(...times));
  const { rows } = await sql<{ alive: boolean; ids: string[]; continuations: number }>`
    WITH alive AS MATERIALIZED (${liveInstanceGuard(ex, params)}),
    input AS (
      SELECT * FROM unnest(${outcomes.map((o) => o.executionId)}::bigint[],
                           ${outcomes.map((o) => o.scheduledAt)}::timestamptz[], ${outcomes.map((o) => o.status)}::text[],
                           ${outcomes.map((o) => o.error)}::text[],
                           ${outcomes.map((o) => (o.result === undefined || o.result === null ? null : JSON.stringify(o.result)))}::jsonb[],
                           ${outcomes.map((o) => o.traceId)}::text[], ${outcomes.map((o) => o.retryAfterMs)}::float8[])
             AS i(id, scheduled_at, status, error, result, trace_id, retry_after_ms)
    ), finished AS (
      UPDATE ${table(ex, 'executions')} e
         SET status = i.status, finished_at = ${now}, error = i.error, result = i.result,
             trace_id = coalesce(i.trace_id, e.trace_id)
        FROM input i
       -- scheduled_at, the partition key, takes each row from its one partition (scheduled-key.ts).
       WHERE e.id = i.id AND ${inScheduledMs(sql`e.scheduled_at`, sql`i.scheduled_at`)}
         AND e.scheduled_at >= ${new Date(Math.min(...times))}::timestamptz
         AND e.scheduled_at < ${spanEnd}::timestamptz + interval '1 millisecond'
         AND e.status = 'running' AND e.instance_id = ${params.instanceId}::uuid
         AND EXISTS (SELECT 1 FROM alive)
      RETURNING e.id, e.fire_id, e.scheduled_at, e.attempt, e.job_name, i.retry_after_ms, e.trace_id, e.status
    ), retried AS (
      INSERT INTO ${table(ex, 'executions')} (fire_id, scheduled_at, attempt, job_name, status, run_at, trace_id)
      SELECT fire_id, scheduled_at, attempt + 1, job_name, 'pending', ${now} + retry_after_ms * interval '1 millisecond', trace_id
        FROM finished WHERE retry_after_ms IS NOT NULL
      RETURNING id
    ), ${continuationCtes(ex, { instanceId: params.instanceId, now })}
    SELECT EXISTS (SELECT 1 FROM alive) AS alive, array(SELECT id FROM finished)::text[] AS ids,
           (SELECT count(*) FROM continued)::int AS continuations,
           -- Wakes the replicas to claim the continuations, delivered only if this commits.
           (SELECT pg_notify(${changeChannel(ex.schema)}, 'pending') WHERE EXISTS (SELECT 1 FROM continued)) AS woke`.execute(
    ex.db,
  );
  if (!rows[0]?.alive) throw new InstanceFencedError(params.instanceId);
  return { recorded: new Set(rows[0].ids), continuations: rows[0].continuations };
}

/**
 * Hands attempts that this replica acquired but never started back to the cluster: `pending` again,
 * due at their fire's scheduled time, so any replica (this one included, after a restart) claims and runs
 * them; `note` says why, in the history, until the attempt's outcome replaces it. The attempt number is
 * unchanged (nothing ran). Returns the ids handed back; throws InstanceFencedError, changing nothing,
 * when `instanceId` is no longer active (the leader's recovery owns those attempts then).
 */
export async function releaseExecutions(
  ex: Executor,
  params: { instanceId: string; executionIds: readonly string[]; note: string },
): Promise<string[]> {
  if (params.executionIds.length === 0) return [];
  const { rows } = await sql<{ alive: boolean; ids: string[] }>`
    WITH alive AS MATERIALIZED (${liveInstanceGuard(ex, params)}),
    released AS (
      UPDATE ${table(ex, 'executions')} e
         SET status = 'pending', instance_id = NULL, started_at = NULL, error = ${params.note},
             run_at = greatest(e.run_at, e.scheduled_at)
       WHERE e.id = ANY(${params.executionIds as string[]}::bigint[])
         AND e.status = 'running' AND e.instance_id = ${params.instanceId}::uuid
         AND EXISTS (SELECT 1 FROM alive)
      RETURNING e.id
    )
    SELECT EXISTS (SELECT 1 FROM alive) AS alive, array(SELECT id FROM released)::text[] AS ids`.execute(
    ex.db,
  );
  if (!rows[0]?.alive) throw new InstanceFencedError(params.instanceId);
  return rows[0].ids;
}

/** The running executions of an instance (for shutdown and recovery). */
export async function runningExecutionsOf(ex: Executor, params: { instanceId: string }) {
  return ex.db
    .selectFrom('executions as e')
    .innerJoin('jobs as j', 'j.name', 'e.job_name')
    .select(['e.id', 'e.fire_id', 'e.attempt', 'e.job_name', 'j.recover'])
    .where('e.instance_id', '=', params.instanceId)
    .where('e.status', '=', 'running')
    .execute();
}

/** One upstream of a continuation: its fire and the outcome of its latest attempt. */
export interface UpstreamOutcome {
  fireId: string;
  job: string;
  trigger: string;
  scheduledAt: Date;
  executionId: string;
  status: ExecutionStatus;
  /** What the upstream's `execute` returned (JSON), null when nothing. */
  result: unknown;
}

/**
 * The upstreams of a continuation or fan-in fire (in the order they arrived), each with the outcome of
 * its latest attempt; empty for any other fire. One indexed query, made only for attempts claimed from
 * pending (continuations always are).
 */
export async function upstreamsOf(
  ex: Executor,
  params: { fireId: string; scheduledAt?: Date },
): Promise<UpstreamOutcome[]> {
  // A continuation's upstreams share its scheduled time (continuation-sql.ts): with it, each lookup
  // prunes to that time's partition (migrations/0011).
  const at = params.scheduledAt;
  const { rows } = await sql<{
    fire_id: string;
    job_name: string;
    trigger_name: string;
    scheduled_at: Date;
    execution_id: string;
    status: ExecutionStatus;
    result: unknown;
  }>`
    -- A fan-in may have seen two fires of one upstream job at its schedule time: the first one counts.
    SELECT * FROM (
      SELECT DISTINCT ON (u.job_name) u.id AS fire_id, u.job_name, u.trigger_name, u.scheduled_at,
             x.id AS execution_id, x.status, x.result, up.n
        FROM ${table(ex, 'fires')} c
        CROSS JOIN LATERAL unnest(c.upstream_fire_ids) WITH ORDINALITY AS up(id, n)
        JOIN ${table(ex, 'fires')} u ON u.id = up.id AND u.scheduled_at = c.scheduled_at
        JOIN LATERAL (SELECT e.id, e.status, e.result FROM ${table(ex, 'executions')} e
                       WHERE e.fire_id = u.id AND e.scheduled_at = u.scheduled_at ORDER BY e.attempt DESC LIMIT 1) x ON true
       WHERE c.id = ${params.fireId}::bigint
         ${at ? sql`AND ${inScheduledMs(sql`c.scheduled_at`, at)} AND ${inScheduledMs(sql`u.scheduled_at`, at)}` : sql``}
       ORDER BY u.job_name, up.n) firsts
     ORDER BY n`.execute(ex.db);
  return rows.map((row) => ({
    fireId: row.fire_id,
    job: row.job_name,
    trigger: row.trigger_name,
    scheduledAt: row.scheduled_at,
    executionId: row.execution_id,
    status: row.status,
    result: row.result ?? null,
  }));
}

/**
 * Stores the trace context of a `fireNow` fire whose span its claimer started (decision 0010), so that a
 * later attempt (a retry, a recovery on another replica) continues the same trace, and job_history
 * carries its trace id from the start. Only a fire without one is written.
 */
export async function recordFireTrace(
  ex: Executor,
  params: { fireId: string; executionId: string; scheduledAt: Date; traceContext: Record<string, string> },
): Promise<void> {
  const traceparent = params.traceContext.traceparent ?? '';
  await sql`
    WITH fire AS (
      UPDATE ${table(ex, 'fires')} SET trace_context = ${JSON.stringify(params.traceContext)}::jsonb
       WHERE id = ${params.fireId}::bigint AND ${inScheduledMs(sql`scheduled_at`, params.scheduledAt)}
         AND trace_context IS NULL
      RETURNING id
    )
    UPDATE ${table(ex, 'executions')} SET trace_id = coalesce(trace_id, nullif(${traceparent.split('-')[1] ?? ''}, ''))
     WHERE id = ${params.executionId}::bigint AND ${inScheduledMs(sql`scheduled_at`, params.scheduledAt)}
       AND fire_id IN (SELECT id FROM fire)`.execute(ex.db);
}
