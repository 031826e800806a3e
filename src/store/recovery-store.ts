/**
 * Leader-only writes: declaring instances dead and recovering their executions.
 *
 * Callers run these inside a transaction that first passed `holdsLease` (leader-store.ts), and each write
 * stamps the epoch it was made under (`executions.leader_epoch`), so an audit can prove that no write
 * was made under a stale lease.
 */
import { sql, type Selectable } from 'kysely';
import { dbNow, table, type Executor } from './executor.js';
import type { ExecutionsTable, InstancesTable } from './tables.js';

/** A row read through an outer join: every column may be null. */
type NullableColumns<T> = { [K in keyof T]: T[K] | null };

export interface DeadInstance {
  id: string;
  name: string;
  reason: string;
}

/**
 * Active instances whose session is gone (their advisory lock is free). The caller confirms a loss only
 * when it persists across passes (see cluster/execution-recoverer.ts): a replica reconnecting after a
 * database restart is not a dead one.
 */
export async function instancesWithoutSession(
  ex: Executor,
  params: { selfId: string; lockNamespace: number; now?: Date },
): Promise<{ instances: { id: string; lastCheckinAt: Date }[]; dbNow: Date }> {
  const now = dbNow(ex, params.now);
  // Nullable: the left join yields one row with the database's time even when no instance matches.
  type Row = NullableColumns<Pick<Selectable<InstancesTable>, 'id' | 'last_checkin_at'>> & { db_now: Date };
  const { rows } = await sql<Row>`
    SELECT i.id, i.last_checkin_at, ${now} AS db_now
      FROM (SELECT 1) one
      LEFT JOIN ${table(ex, 'instances')} i
        ON i.state = 'active' AND i.id <> ${params.selfId}::uuid
       AND NOT EXISTS (SELECT 1 FROM pg_locks pl
                        WHERE pl.locktype = 'advisory' AND pl.granted AND pl.objsubid = 2
                          AND pl.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                          AND pl.classid = ${params.lockNamespace}::oid AND pl.objid = i.lock_key::oid)`.execute(
    ex.db,
  );
  return {
    instances: rows.flatMap((row) => (row.id ? [{ id: row.id, lastCheckinAt: row.last_checkin_at! }] : [])),
    dbNow: rows[0]!.db_now,
  };
}

/**
 * Marks instances dead: those the caller confirmed lost their session (`sessionLost`: each with the
 * database time since which its lock has been seen free; it must not have checked in since), and any
 * that has not checked in for `deadAfterMs` whatever its session says (alive but stalled: SIGSTOP, a
 * blocked event loop, a partition that kept the socket open).
 *
 * The rows are locked before they are changed (FOR UPDATE), which serializes the declaration with the
 * replica's own guarded writes (they hold the row FOR SHARE: see instance-store.ts) and its check-ins.
 * A row that is locked right now is skipped, not waited for: a replica with a guarded write or a check-in
 * in flight is not dead this instant, and one stalled in the middle of a transaction must not hold up
 * the recovery of every other instance (the server ends that transaction after
 * idle_in_transaction_session_timeout, and a later pass declares it). A row that changed since this
 * statement's snapshot is judged again as it is now (READ COMMITTED rechecks locked rows), so a check-in
 * that committed meanwhile keeps its replica alive.
 */
export async function markDeadInstances(
  ex: Executor,
  params: {
    selfId: string;
    sessionLost: readonly { id: string; since: Date }[];
    deadAfterMs: number;
    /**
     * Count silence only from this instant (database time), the start of the caller's leader term: a
     * database failover or outage stops every replica's check-ins, and a new leader must not read that
     * gap as their deaths. Default: no bound.
     */
    silentSince?: Date;
    now?: Date;
  },
): Promise<DeadInstance[]> {
  const now = dbNow(ex, params.now);
  const lastHeard = params.silentSince
    ? sql`greatest(i.last_checkin_at, ${params.silentSince}::timestamptz)`
    : sql`i.last_checkin_at`;
  const stale = sql`${lastHeard} < ${now} - ${params.deadAfterMs} * interval '1 millisecond'`;
  // Milliseconds, as the recoverer compares them (it holds these times as JavaScript dates).
  const silentSinceLoss = sql`EXISTS (
      SELECT 1 FROM unnest(${params.sessionLost.map((lost) => lost.id)}::uuid[],
                           ${params.sessionLost.map((lost) => lost.since.toISOString())}::timestamptz[]) s(id, since)
       WHERE s.id = i.id AND date_trunc('milliseconds', i.last_checkin_at) <= s.since)`;
  const { rows } = await sql<DeadInstance>`
    WITH judged AS (
      SELECT i.id FROM ${table(ex, 'instances')} i
       WHERE i.state = 'active' AND i.id <> ${params.selfId}::uuid AND (${stale} OR ${silentSinceLoss})
         FOR UPDATE SKIP LOCKED
    )
    UPDATE ${table(ex, 'instances')} i
       SET state = 'dead', stopped_at = ${now},
           dead_reason = CASE
             WHEN ${stale}
               THEN 'no check-in for ' || round(extract(epoch FROM ${now} - i.last_checkin_at)::numeric, 1) || ' s'
             ELSE 'database session ended'
           END
      FROM judged j
     WHERE i.id = j.id
    RETURNING i.id, i.name, i.dead_reason AS reason`.execute(ex.db);
  return rows;
}

export interface RecoveredExecution {
  executionId: string;
  fireId: string;
  attempt: number;
  job: string;
  outcome: 'recovered' | 'abandoned';
  instanceId: string;
  /** The new pending attempt, when re-dispatched. */
  nextExecutionId: string | null;
}

/**
 * Running executions of instances that are no longer active: re-dispatched as a new pending attempt
 * (same fire, so the same idempotency key) when their job says `recover: true`, otherwise abandoned.
 */
export async function recoverOrphanedExecutions(
  ex: Executor,
  params: { epoch: number; limit: number; now?: Date },
): Promise<RecoveredExecution[]> {
  const now = dbNow(ex, params.now);
  type Row = Pick<Selectable<ExecutionsTable>, 'id' | 'fire_id' | 'attempt' | 'job_name'> & {
    status: RecoveredExecution['outcome'];
    instance_id: string;
    next_id: string | null;
  };
  const { rows } = await sql<Row>`
    WITH orphaned AS (
      SELECT e.id, e.scheduled_at, coalesce(j.recover, false) AS recover,
             'instance ' || i.name || ' (' || i.id || ') is ' || i.state || coalesce(': ' || i.dead_reason, '') AS reason
        FROM ${table(ex, 'executions')} e
        JOIN ${table(ex, 'instances')} i ON i.id = e.instance_id
        LEFT JOIN ${table(ex, 'jobs')} j ON j.name = e.job_name
       WHERE e.status = 'running' AND i.state <> 'active'
       ORDER BY e.id
       LIMIT ${params.limit}
         FOR UPDATE OF e SKIP LOCKED
    ), marked AS (
      UPDATE ${table(ex, 'executions')} e
         SET status = CASE WHEN o.recover THEN 'recovered' ELSE 'abandoned' END,
             finished_at = ${now},
             error = CASE WHEN o.recover THEN 're-dispatched: ' ELSE 'abandoned: ' END || o.reason,
             leader_epoch = ${params.epoch}
        FROM orphaned o
       WHERE e.id = o.id AND e.scheduled_at = o.scheduled_at
      RETURNING e.id, e.fire_id, e.scheduled_at, e.attempt, e.job_name, e.status, e.instance_id, e.trace_id
    ), redispatched AS (
      INSERT INTO ${table(ex, 'executions')} (fire_id, scheduled_at, attempt, job_name, status, run_at, trace_id, leader_epoch)
      SELECT fire_id, scheduled_at, attempt + 1, job_name, 'pending', ${now}, trace_id, ${params.epoch}
        FROM marked WHERE status = 'recovered'
      RETURNING id, fire_id
    )
    SELECT m.id, m.fire_id, m.attempt, m.job_name, m.status, m.instance_id, r.id AS next_id
      FROM marked m LEFT JOIN redispatched r ON r.fire_id = m.fire_id`.execute(ex.db);
  return rows.map((row) => ({
    executionId: row.id,
    fireId: row.fire_id,
    attempt: row.attempt,
    job: row.job_name,
    outcome: row.status,
    instanceId: row.instance_id,
    nextExecutionId: row.next_id,
  }));
}
