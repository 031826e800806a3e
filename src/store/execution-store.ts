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
import { dbNow, table, type Executor } from './executor.js';
import type { JobSettings } from './fire-store.js';
import { InstanceFencedError, liveInstanceGuard } from './instance-store.js';
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
  Pick<Selectable<JobsTable>, 'timeout_ms' | 'max_attempts' | 'backoff' | 'recover'>;

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
  const now = dbNow(params.now);
  const { rows } = await sql<ClaimRow>`
    WITH alive AS MATERIALIZED (${liveInstanceGuard(ex, params)}),
    due AS MATERIALIZED (
      SELECT e.id, j.name IS NOT NULL AS job_exists
        FROM ${table(ex, 'executions')} e
        LEFT JOIN ${table(ex, 'jobs')} j ON j.name = e.job_name
       WHERE e.status = 'pending' AND e.run_at <= ${now} AND e.job_name = ANY(${params.jobs as string[]}::text[])
         AND EXISTS (SELECT 1 FROM alive)
       ORDER BY e.run_at LIMIT ${params.limit} FOR UPDATE OF e SKIP LOCKED
    ),
    claimed AS (
      UPDATE ${table(ex, 'executions')} e
         SET status = 'running', instance_id = ${params.instanceId}::uuid, started_at = ${now}
        FROM due p
       WHERE e.id = p.id AND p.job_exists
      RETURNING e.id, e.fire_id, e.attempt
    ),
    orphaned AS (
      UPDATE ${table(ex, 'executions')} e
         SET status = 'abandoned', instance_id = ${params.instanceId}::uuid, finished_at = ${now},
             error = 'abandoned: job ' || quote_literal(e.job_name) || ' no longer exists (deleted before this attempt ran)'
        FROM due p
       WHERE e.id = p.id AND NOT p.job_exists
      RETURNING e.id
    )
    -- One row even when nothing was claimed, so that "fenced" and "nothing pending" differ.
    SELECT EXISTS (SELECT 1 FROM alive) AS alive, x.*
      FROM (SELECT count(*) FROM orphaned) one
      LEFT JOIN (SELECT c.id, c.fire_id, c.attempt, f.trigger_id, f.trigger_name, f.trigger_group, f.job_name,
                        f.scheduled_at, f.fired_at, f.data, f.trace_context, j.timeout_ms, j.max_attempts,
                        j.backoff, j.recover
                   FROM claimed c JOIN ${table(ex, 'fires')} f ON f.id = c.fire_id
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
  }));
}

export type FinalStatus = Extract<
  ExecutionStatus,
  'succeeded' | 'failed' | 'timed_out' | 'abandoned' | 'recovered' | 'vetoed'
>;

export interface ExecutionOutcome {
  executionId: string;
  status: FinalStatus;
  error: string | null;
  result: unknown;
  traceId: string | null;
  /** When set, the next attempt is inserted as pending, due this many ms from now (database time). */
  retryAfterMs: number | null;
}

/**
 * Records outcomes in one statement (the executor batches them) and inserts the retries they ask for.
 * Returns the ids whose outcome was recorded; an id missing from it had been taken from this replica.
 * Throws InstanceFencedError, recording nothing, when `instanceId` is no longer active.
 */
export async function completeExecutions(
  ex: Executor,
  params: { instanceId: string; outcomes: readonly ExecutionOutcome[]; now?: Date },
): Promise<Set<string>> {
  const { outcomes } = params;
  if (outcomes.length === 0) return new Set();
  const now = dbNow(params.now);
  const { rows } = await sql<{ alive: boolean; ids: string[] }>`
    WITH alive AS MATERIALIZED (${liveInstanceGuard(ex, params)}),
    input AS (
      SELECT * FROM unnest(${outcomes.map((o) => o.executionId)}::bigint[], ${outcomes.map((o) => o.status)}::text[],
                           ${outcomes.map((o) => o.error)}::text[],
                           ${outcomes.map((o) => (o.result === undefined || o.result === null ? null : JSON.stringify(o.result)))}::jsonb[],
                           ${outcomes.map((o) => o.traceId)}::text[], ${outcomes.map((o) => o.retryAfterMs)}::float8[])
             AS i(id, status, error, result, trace_id, retry_after_ms)
    ), finished AS (
      UPDATE ${table(ex, 'executions')} e
         SET status = i.status, finished_at = ${now}, error = i.error, result = i.result,
             trace_id = coalesce(i.trace_id, e.trace_id)
        FROM input i
       WHERE e.id = i.id AND e.status = 'running' AND e.instance_id = ${params.instanceId}::uuid
         AND EXISTS (SELECT 1 FROM alive)
      RETURNING e.id, e.fire_id, e.attempt, e.job_name, i.retry_after_ms, e.trace_id
    ), retried AS (
      INSERT INTO ${table(ex, 'executions')} (fire_id, attempt, job_name, status, run_at, trace_id)
      SELECT fire_id, attempt + 1, job_name, 'pending', ${now} + retry_after_ms * interval '1 millisecond', trace_id
        FROM finished WHERE retry_after_ms IS NOT NULL
      RETURNING id
    )
    SELECT EXISTS (SELECT 1 FROM alive) AS alive, array(SELECT id FROM finished)::text[] AS ids`.execute(
    ex.db,
  );
  if (!rows[0]?.alive) throw new InstanceFencedError(params.instanceId);
  return new Set(rows[0].ids);
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
             run_at = greatest(e.run_at, f.scheduled_at)
        FROM ${table(ex, 'fires')} f
       WHERE f.id = e.fire_id AND e.id = ANY(${params.executionIds as string[]}::bigint[])
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
