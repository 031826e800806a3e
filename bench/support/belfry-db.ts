/**
 * The bench's direct access to a Belfry schema: bulk trigger creation (10,000 triggers through
 * `insertTrigger` one at a time would take seconds and is not what is measured) and the read-only
 * queries that judge a run from the `job_history` view. The trigger rows carry the same columns that
 * `insertTrigger` writes; `start_at` holds each trigger's first scheduled time so the exactly-once
 * check can enumerate every scheduled time from `start_at` to `end_at`.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { changeChannel } from '../../src/store/executor.js';
import { ONE_OFF_NOTIFY } from '../../src/store/definition-store.js';
import type { Executor } from '../../src/store/executor.js';
import { recordFiresNow } from '../../src/store/fire-now-store.js';
import { summarize, type Summary } from './stats.js';

export interface BenchTrigger {
  name: string;
  kind: 'once' | 'interval';
  /** interval: the period; once: ignored. */
  everyMs?: number;
  /** interval: the anchor instant (ms) that fixes the phase. */
  anchorMs?: number;
  firstAt: number;
  /** interval: the last scheduled time (inclusive). */
  lastAt?: number;
}

function quoted(schema: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`bad schema ${schema}`);
  return `"${schema}"`;
}

/** Inserts triggers in one statement and notifies the replicas, in one transaction. */
export async function insertBenchTriggers(
  pool: pg.Pool,
  schema: string,
  params: { group: string; job: string; triggers: readonly BenchTrigger[] },
): Promise<void> {
  const s = quoted(schema);
  const { triggers } = params;
  await insertAndNotify(pool, changeChannel(schema), 'triggers', (client) =>
    client.query(
      `INSERT INTO ${s}.triggers (name, group_name, job_name, kind, spec, state, next_fire_at, start_at, end_at, max_fires,
                                  misfire_policy, source)
       SELECT u.name, $1, $2, u.kind, u.spec::jsonb, 'waiting', u.first_at, u.first_at, u.last_at, u.max_fires,
              'fire-once-now', 'bench'
         FROM unnest($3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::bigint[])
              AS u(name, kind, spec, first_at, last_at, max_fires)`,
      [
        params.group,
        params.job,
        triggers.map((t) => t.name),
        triggers.map((t) => t.kind),
        triggers.map((t) =>
          JSON.stringify(
            t.kind === 'once'
              ? { kind: 'once', at: new Date(t.firstAt).toISOString() }
              : { kind: 'interval', everyMs: t.everyMs, anchor: new Date(t.anchorMs ?? 0).toISOString() },
          ),
        ),
        triggers.map((t) => new Date(t.firstAt)),
        triggers.map((t) =>
          t.kind === 'once' ? new Date(t.firstAt) : t.lastAt === undefined ? null : new Date(t.lastAt),
        ),
        triggers.map((t) => (t.kind === 'once' ? 1 : null)),
      ],
    ),
  );
}

/**
 * Inserts one-off triggers due at `at` (null: now, by the database clock) in one statement and notifies
 * the replicas, in one transaction: the same rows `scheduleAt`/`fireNow` write (insertOneOffTrigger:
 * kind 'once', max_fires 1, source 'api', misfire 'fire-once-now', a `<job>.once.<uuid>` name), so the
 * bench enqueues N jobs in one round trip as the peers' bulk APIs do.
 */
export async function insertOneOffTriggers(
  pool: pg.Pool,
  schema: string,
  params: { group: string; job: string; at: Date | null; data: readonly Record<string, unknown>[] },
): Promise<void> {
  const s = quoted(schema);
  await insertAndNotify(pool, changeChannel(schema), ONE_OFF_NOTIFY, (client) =>
    client.query(
      `INSERT INTO ${s}.triggers (name, group_name, job_name, kind, spec, data, state, next_fire_at, max_fires,
                                  source, misfire_policy)
       SELECT $2 || '.once.' || gen_random_uuid(), $1, $2, 'once', jsonb_build_object('kind', 'once', 'at', to_json(at)),
              u.data, 'waiting', at, 1, 'api', 'fire-once-now'
         FROM (SELECT coalesce($3::timestamptz, now()) AS at) s, unnest($4::jsonb[]) AS u(data)`,
      [params.group, params.job, params.at, params.data.map((d) => JSON.stringify(d))],
    ),
  );
}

/**
 * N `fireNow` one-offs of `job` in one statement (`recordFiresNow`): each recorded fired, with a pending
 * first attempt the replicas claim; the bulk form of what `scheduler.fireNow` writes.
 */
export async function fireNowMany(
  ex: Executor,
  params: { group: string; job: string; data: readonly Record<string, unknown>[] },
): Promise<void> {
  const items = params.data.map((data) => ({ name: `${params.job}.once.${randomUUID()}`, data }));
  const { fired } = await recordFiresNow(ex, { job: params.job, group: params.group, items });
  if (!fired)
    throw new Error(`fireNowMany: ${params.job} is paused or forbids overlap; nothing was claimable`);
}

/**
 * Runs the insert and notifies the replicas on `channel` in one transaction, as the API does: a replica
 * hears the NOTIFY only once the rows are committed.
 */
async function insertAndNotify(
  pool: pg.Pool,
  channel: string,
  payload: string,
  insert: (client: pg.PoolClient) => Promise<unknown>,
): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await insert(client);
    await client.query('SELECT pg_notify($1, $2)', [channel, payload]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/**
 * What became of a group of one-off triggers: each should have exactly one fire (the UNIQUE constraint
 * on (trigger, scheduled time) guarantees it) and one first attempt in `job_history`.
 */
export async function oneOffAudit(
  pool: pg.Pool,
  schema: string,
  group: string,
): Promise<{
  triggers: number;
  fires: number;
  duplicateFirstAttempts: number;
  statuses: Record<string, number>;
}> {
  const s = quoted(schema);
  const { rows } = await pool.query<{
    triggers: number;
    fires: number;
    duplicates: number;
    statuses: Record<string, number> | null;
  }>(
    `SELECT (SELECT count(*)::int FROM ${s}.triggers WHERE group_name = $1) AS triggers,
            (SELECT count(*)::int FROM ${s}.fires WHERE trigger_group = $1) AS fires,
            (SELECT (count(*) - count(DISTINCT fire_id))::int FROM ${s}.job_history
              WHERE trigger_group = $1 AND attempt = 1) AS duplicates,
            (SELECT json_object_agg(status, n) FROM (SELECT status, count(*) AS n FROM ${s}.job_history
                                                      WHERE trigger_group = $1 GROUP BY status) st) AS statuses`,
    [group],
  );
  const row = rows[0]!;
  return {
    triggers: row.triggers,
    fires: row.fires,
    duplicateFirstAttempts: row.duplicates,
    statuses: row.statuses ?? {},
  };
}

export async function countFires(pool: pg.Pool, schema: string, group: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${quoted(schema)}.fires WHERE trigger_group = $1`,
    [group],
  );
  return rows[0]!.n;
}

/** Executions of a group that are recorded as finished (the completion writer has flushed). */
export async function countFinished(pool: pg.Pool, schema: string, group: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${quoted(schema)}.job_history WHERE trigger_group = $1 AND finished_at IS NOT NULL`,
    [group],
  );
  return rows[0]!.n;
}

/**
 * Polls (every 50 ms) until `n` jobs of `group` are recorded finished, or `timeoutMs` has passed;
 * returns whether they all finished.
 */
export async function waitFinished(
  pool: pg.Pool,
  schema: string,
  params: { group: string; n: number; timeoutMs?: number },
): Promise<boolean> {
  const deadline = performance.now() + (params.timeoutMs ?? Infinity);
  for (;;) {
    if ((await countFinished(pool, schema, params.group)) >= params.n) return true;
    if (performance.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface HistoryLag {
  lag: Summary;
  firstStartMs: number | null;
  lastStartMs: number | null;
  /** Executions started per wall-clock second (epoch second → count). */
  perSecond: [number, number][];
}

/** Lag (`started_at - scheduled_at`, first attempts) of a group, from the `job_history` view. */
export async function historyLag(pool: pg.Pool, schema: string, group: string): Promise<HistoryLag> {
  const s = quoted(schema);
  const { rows } = await pool.query<{ lag: number; started: number }>(
    `SELECT extract(epoch FROM started_at - scheduled_at)::float8 * 1000 AS lag, extract(epoch FROM started_at)::float8 * 1000 AS started
       FROM ${s}.job_history WHERE trigger_group = $1 AND attempt = 1 AND started_at IS NOT NULL`,
    [group],
  );
  const perSecond = new Map<number, number>();
  let first: number | null = null;
  let last: number | null = null;
  for (const row of rows) {
    const second = Math.floor(row.started / 1_000);
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
    if (first === null || row.started < first) first = row.started;
    if (last === null || row.started > last) last = row.started;
  }
  return {
    lag: summarize(rows.map((row) => row.lag)),
    firstStartMs: first,
    lastStartMs: last,
    perSecond: [...perSecond.entries()].sort((a, b) => a[0] - b[0]),
  };
}

export interface ExactlyOnceReport {
  /** Scheduled times the triggers of the group should have fired at (start_at..end_at). */
  expected: number;
  /** Expected (trigger, scheduled time) pairs with no fire. */
  missing: number;
  /** Fires beyond one per (trigger, scheduled time) (the UNIQUE constraint should make this 0). */
  duplicateFires: number;
  /** `job_history` first attempts beyond one per (trigger, scheduled time). */
  duplicateExecutions: number;
  /** Fires at times that are not on the trigger's schedule. */
  unexpected: number;
  statuses: Record<string, number>;
}

/**
 * Checks that every scheduled time of every trigger in the group was fired exactly once, using the
 * triggers' `start_at`/`end_at` (or `until`, when earlier) and spec (interval) to enumerate the
 * expected times.
 */
export async function exactlyOnce(
  pool: pg.Pool,
  schema: string,
  group: string,
  options: { until?: Date } = {},
): Promise<ExactlyOnceReport> {
  const s = quoted(schema);
  const { rows } = await pool.query<{
    expected: string;
    missing: string;
    duplicate_fires: string;
    duplicate_executions: string;
    unexpected: string;
    statuses: Record<string, number> | null;
  }>(
    `WITH t AS (
       SELECT id, kind, start_at, end_at, (spec->>'everyMs')::bigint AS every_ms FROM ${s}.triggers WHERE group_name = $1
     ), expected AS (
       SELECT t.id AS trigger_id, g AS scheduled_at
         FROM t CROSS JOIN LATERAL generate_series(t.start_at, least(t.end_at, $2::timestamptz), t.every_ms * interval '1 millisecond') g
        WHERE t.kind = 'interval'
       UNION ALL
       SELECT t.id, t.start_at FROM t WHERE t.kind = 'once' AND ($2::timestamptz IS NULL OR t.start_at <= $2)
     ), f AS (
       SELECT trigger_id, scheduled_at, count(*) AS n FROM ${s}.fires
        WHERE trigger_group = $1 AND ($2::timestamptz IS NULL OR scheduled_at <= $2) GROUP BY 1, 2
     ), e1 AS (
       SELECT h.fire_id, count(*) AS n FROM ${s}.job_history h
        WHERE h.trigger_group = $1 AND h.attempt = 1 AND ($2::timestamptz IS NULL OR h.scheduled_at <= $2) GROUP BY 1
     )
     SELECT (SELECT count(*) FROM expected) AS expected,
            (SELECT count(*) FROM expected x LEFT JOIN f ON f.trigger_id = x.trigger_id AND f.scheduled_at = x.scheduled_at
              WHERE f.n IS NULL) AS missing,
            (SELECT coalesce(sum(n - 1), 0) FROM f WHERE n > 1) AS duplicate_fires,
            (SELECT coalesce(sum(n - 1), 0) FROM e1 WHERE n > 1) AS duplicate_executions,
            (SELECT count(*) FROM f LEFT JOIN expected x ON x.trigger_id = f.trigger_id AND x.scheduled_at = f.scheduled_at
              WHERE x.trigger_id IS NULL) AS unexpected,
            (SELECT json_object_agg(status, n) FROM (SELECT status, count(*) AS n FROM ${s}.job_history
                                                       WHERE trigger_group = $1 AND ($2::timestamptz IS NULL OR scheduled_at <= $2)
                                                       GROUP BY status) st) AS statuses`,
    [group, options.until ?? null],
  );
  const row = rows[0]!;
  return {
    expected: Number(row.expected),
    missing: Number(row.missing),
    duplicateFires: Number(row.duplicate_fires),
    duplicateExecutions: Number(row.duplicate_executions),
    unexpected: Number(row.unexpected),
    statuses: row.statuses ?? {},
  };
}

export interface LeaderInfo {
  epoch: number;
  holderName: string | null;
  valid: boolean;
}

/** The lease row (`leader`) with its holder's instance name. */
export async function leaderInfo(pool: pg.Pool, schema: string): Promise<LeaderInfo> {
  const s = quoted(schema);
  const { rows } = await pool.query<{ epoch: string; name: string | null; valid: boolean }>(
    `SELECT l.epoch, i.name, (l.holder IS NOT NULL AND l.expires_at > clock_timestamp()) AS valid
       FROM ${s}.leader l LEFT JOIN ${s}.instances i ON i.id = l.holder`,
  );
  const row = rows[0]!;
  return { epoch: Number(row.epoch), holderName: row.name, valid: row.valid };
}

/** When the term of `epoch` began (`leader_terms.acquired_at`), in wall ms. */
export async function termAcquiredAt(pool: pg.Pool, schema: string, epoch: number): Promise<number | null> {
  const { rows } = await pool.query<{ at: Date }>(
    `SELECT acquired_at AS at FROM ${quoted(schema)}.leader_terms WHERE epoch = $1`,
    [epoch],
  );
  return rows[0] ? rows[0].at.getTime() : null;
}

/** Names of the instances registered as active. */
export async function activeInstanceNames(pool: pg.Pool, schema: string): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>(
    `SELECT name FROM ${quoted(schema)}.instances WHERE state = 'active' ORDER BY name`,
  );
  return rows.map((row) => row.name);
}
