/**
 * Read-only queries behind `belfry audit`: the raw facts the exactly-once checker judges.
 */
import { sql, type Selectable } from 'kysely';
import { camelRow } from './camel-row.js';
import { table, type Executor } from './executor.js';
import type { ExecutionsTable, FiresTable, TriggersTable } from './tables.js';

export interface AuditWindow {
  since: Date;
  until: Date;
}

/** A window narrowed to the triggers whose name matches a LIKE pattern (all when none is given). */
type NamedAuditWindow = AuditWindow & { namePattern?: string };

/** The LIKE test of `t.name` (triggers aliased `t`) against the window's pattern; true without one. */
function triggerNameMatches(window: NamedAuditWindow) {
  const pattern = window.namePattern ?? null;
  return sql<boolean>`(${pattern}::text IS NULL OR t.name LIKE ${pattern})`;
}

export interface AuditedTrigger {
  id: string;
  name: string;
  spec: unknown;
  createdAt: Date;
  endAt: Date | null;
  maxFires: number | null;
  /** Scheduled times of the fires recorded in the window, with how many fire rows each has. */
  fires: { scheduledAt: Date; count: number }[];
}

export async function triggersWithFires(ex: Executor, window: NamedAuditWindow): Promise<AuditedTrigger[]> {
  type Row = Pick<
    Selectable<TriggersTable>,
    'id' | 'name' | 'spec' | 'created_at' | 'end_at' | 'max_fires'
  > & {
    fires: { scheduled_at: string; count: number }[] | null;
  };
  const { rows } = await sql<Row>`
    SELECT t.id, t.name, t.spec, t.created_at, t.end_at, t.max_fires,
           (SELECT json_agg(json_build_object('scheduled_at', s.scheduled_at, 'count', s.n) ORDER BY s.scheduled_at)
              FROM (SELECT f.scheduled_at, count(*)::int AS n FROM ${table(ex, 'fires')} f
                     WHERE f.trigger_id = t.id AND f.scheduled_at >= ${window.since} AND f.scheduled_at < ${window.until}
                     GROUP BY f.scheduled_at) s) AS fires
      FROM ${table(ex, 'triggers')} t
     WHERE t.kind <> 'once' AND t.created_at <= ${window.since}
       AND ${triggerNameMatches(window)}
     ORDER BY t.name`.execute(ex.db);
  return rows.map(({ max_fires, fires, ...columns }) => ({
    ...camelRow(columns),
    maxFires: max_fires === null ? null : Number(max_fires),
    fires: (fires ?? []).map((f) => ({ scheduledAt: new Date(f.scheduled_at), count: f.count })),
  }));
}

export interface ExecutionAnomaly {
  kind:
    | 'not-terminal'
    | 'recovered-without-successor'
    | 'several-successes'
    | 'attempt-gap'
    | 'abandoned-recoverable';
  fireId: string;
  trigger: string;
  scheduledAt: Date;
  detail: string;
}

/** Executions in the window that break the execution rules (terminal states, recovery chains). */
export async function executionAnomalies(ex: Executor, window: AuditWindow): Promise<ExecutionAnomaly[]> {
  const { rows } = await sql<{
    kind: ExecutionAnomaly['kind'];
    fire_id: string;
    trigger_name: string;
    scheduled_at: Date;
    detail: string;
  }>`
    WITH w AS (
      SELECT f.id AS fire_id, f.trigger_name, f.scheduled_at, e.attempt, e.status, j.recover
        FROM ${table(ex, 'fires')} f
        JOIN ${table(ex, 'executions')} e ON e.fire_id = f.id AND e.scheduled_at = f.scheduled_at
        LEFT JOIN ${table(ex, 'jobs')} j ON j.name = f.job_name
       WHERE f.scheduled_at >= ${window.since} AND f.scheduled_at < ${window.until}
    ), per_fire AS (
      SELECT fire_id, trigger_name, scheduled_at, max(attempt) AS max_attempt, count(*) AS attempts,
             count(*) FILTER (WHERE status = 'succeeded') AS successes,
             bool_or(status IN ('running', 'pending')) AS open,
             bool_or(status = 'abandoned' AND recover) AS abandoned_recoverable,
             bool_or(status = 'recovered') AS recovered,
             (array_agg(status ORDER BY attempt DESC))[1] AS last_status
        FROM w GROUP BY fire_id, trigger_name, scheduled_at
    )
    SELECT 'not-terminal' AS kind, fire_id, trigger_name, scheduled_at, 'an attempt is still running or pending' AS detail FROM per_fire WHERE open
    UNION ALL
    SELECT 'recovered-without-successor', fire_id, trigger_name, scheduled_at, 'the last attempt is "recovered" but no attempt followed'
      FROM per_fire WHERE last_status = 'recovered'
    UNION ALL
    SELECT 'several-successes', fire_id, trigger_name, scheduled_at, successes || ' attempts succeeded' FROM per_fire WHERE successes > 1
    UNION ALL
    SELECT 'attempt-gap', fire_id, trigger_name, scheduled_at, 'attempts are not numbered 1..n' FROM per_fire WHERE max_attempt <> attempts
    UNION ALL
    SELECT 'abandoned-recoverable', fire_id, trigger_name, scheduled_at, 'a recover: true job was abandoned' FROM per_fire WHERE abandoned_recoverable
    ORDER BY scheduled_at`.execute(ex.db);
  return rows.map(({ trigger_name, ...columns }) => ({ ...camelRow(columns), trigger: trigger_name }));
}

export interface StaleEpochWrite {
  executionId: string;
  epoch: number;
  writtenAt: Date;
  detail: string;
}

/**
 * Leader-only writes (stamped with `leader_epoch`) made outside their term: before it began, after it
 * ended, or under an epoch that never existed. Also overlapping terms.
 */
export async function staleEpochWrites(ex: Executor, window: AuditWindow): Promise<StaleEpochWrite[]> {
  const { rows } = await sql<{ id: string; epoch: string; written_at: Date; detail: string }>`
    SELECT e.id, e.leader_epoch AS epoch, coalesce(e.finished_at, e.run_at) AS written_at,
           CASE WHEN t.epoch IS NULL THEN 'no such leadership term'
                WHEN coalesce(e.finished_at, e.run_at) < t.acquired_at THEN 'written before the term began'
                ELSE 'written after the term ended at ' || t.ended_at END AS detail
      FROM ${table(ex, 'executions')} e
      LEFT JOIN ${table(ex, 'leader_terms')} t ON t.epoch = e.leader_epoch
     WHERE e.leader_epoch IS NOT NULL AND coalesce(e.finished_at, e.run_at) >= ${window.since}
       AND (t.epoch IS NULL OR coalesce(e.finished_at, e.run_at) < t.acquired_at
            OR (t.ended_at IS NOT NULL AND coalesce(e.finished_at, e.run_at) > t.ended_at))
    UNION ALL
    SELECT NULL, a.epoch, b.acquired_at, 'term ' || b.epoch || ' began before term ' || a.epoch || ' ended'
      FROM ${table(ex, 'leader_terms')} a JOIN ${table(ex, 'leader_terms')} b ON b.epoch = a.epoch + 1
     WHERE a.ended_at IS NOT NULL AND b.acquired_at < a.ended_at AND b.acquired_at >= ${window.since}`.execute(
    ex.db,
  );
  return rows.map((row) => ({
    executionId: row.id,
    epoch: Number(row.epoch),
    writtenAt: row.written_at,
    detail: row.detail,
  }));
}

/** One execution attempt as the history records it. */
export interface RecordedAttempt {
  executionId: string;
  fireId: string;
  trigger: string;
  scheduledAt: Date;
  attempt: number;
  status: string;
  instanceId: string | null;
  /** started_at: when the attempt was claimed (database time); null while pending. */
  claimedAt: Date | null;
  /** The job's `recover` flag. */
  recover: boolean;
}

/** Every execution attempt of the fires scheduled in the window, for the run-log checker. */
export async function attemptsInWindow(ex: Executor, window: AuditWindow): Promise<RecordedAttempt[]> {
  type Row = Pick<
    Selectable<ExecutionsTable>,
    'id' | 'fire_id' | 'attempt' | 'status' | 'instance_id' | 'started_at'
  > &
    Pick<Selectable<FiresTable>, 'trigger_name' | 'scheduled_at'> & { recover: boolean | null };
  const { rows } = await sql<Row>`
    SELECT e.id, e.fire_id, f.trigger_name, f.scheduled_at, e.attempt, e.status, e.instance_id, e.started_at, j.recover
      FROM ${table(ex, 'fires')} f
      JOIN ${table(ex, 'executions')} e ON e.fire_id = f.id AND e.scheduled_at = f.scheduled_at
      LEFT JOIN ${table(ex, 'jobs')} j ON j.name = f.job_name
     WHERE f.scheduled_at >= ${window.since} AND f.scheduled_at < ${window.until}`.execute(ex.db);
  return rows.map((row) => ({
    executionId: String(row.id),
    fireId: String(row.fire_id),
    trigger: row.trigger_name,
    scheduledAt: row.scheduled_at,
    attempt: row.attempt,
    status: row.status,
    instanceId: row.instance_id,
    claimedAt: row.started_at,
    // A deleted job's flag is unknown: read as recover: true, which a second run does not break.
    recover: row.recover ?? true,
  }));
}

/** Instances the leader declared dead, with the database time it did so. */
export async function instanceDeaths(
  ex: Executor,
): Promise<{ instanceId: string; name: string; deadAt: Date }[]> {
  const { rows } = await sql<{ id: string; name: string; stopped_at: Date }>`
    SELECT id, name, stopped_at FROM ${table(ex, 'instances')}
     WHERE state = 'dead' AND stopped_at IS NOT NULL`.execute(ex.db);
  return rows.map((row) => ({ instanceId: row.id, name: row.name, deadAt: row.stopped_at }));
}

export interface PolicyFireRow {
  name: string;
  policy: 'skip' | 'fire-once-now' | 'fire-all';
  counted: boolean;
  fires: { scheduledAt: Date; firedAt: Date; firstStatus: string }[];
}

/** Per trigger (not one-offs), its fires in the window with their first attempt's status: for the misfire checker. */
export async function firesWithFirstStatus(ex: Executor, window: NamedAuditWindow): Promise<PolicyFireRow[]> {
  type Row = Pick<Selectable<TriggersTable>, 'name' | 'misfire_policy' | 'max_fires'> & {
    fires: { scheduled_at: string; fired_at: string; status: string }[] | null;
  };
  const { rows } = await sql<Row>`
    SELECT t.name, t.misfire_policy, t.max_fires,
           (SELECT json_agg(json_build_object('scheduled_at', f.scheduled_at, 'fired_at', f.fired_at, 'status', e.status)
                            ORDER BY f.scheduled_at)
              FROM ${table(ex, 'fires')} f
              JOIN ${table(ex, 'executions')} e ON e.fire_id = f.id AND e.scheduled_at = f.scheduled_at AND e.attempt = 1
             WHERE f.trigger_id = t.id AND f.scheduled_at >= ${window.since} AND f.scheduled_at < ${window.until}) AS fires
      FROM ${table(ex, 'triggers')} t
     WHERE t.kind <> 'once'
       AND ${triggerNameMatches(window)}
     ORDER BY t.name`.execute(ex.db);
  return rows.map((row) => ({
    name: row.name,
    policy: row.misfire_policy,
    counted: row.max_fires !== null,
    fires: (row.fires ?? []).map((f) => ({
      scheduledAt: new Date(f.scheduled_at),
      firedAt: new Date(f.fired_at),
      firstStatus: f.status,
    })),
  }));
}
