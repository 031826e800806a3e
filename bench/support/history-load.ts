/**
 * Bulk history for the benchmarks that need a big `fires`/`executions` history (bench/dashboard.ts,
 * bench/history-scale.ts): N fires with one execution each, written by `generate_series` in chunks, one
 * statement per chunk inserting the fires and their executions together (a data-modifying CTE), with
 * foreign-key triggers off (`session_replication_role = replica`; every row is valid anyway).
 *
 * The history is self-consistent, so `belfry audit` judges it clean: `triggers` interval triggers
 * (complete, so no replica fires them), each with its own phase, fire n belonging to trigger n % triggers,
 * scheduled at `start + n × step`; `start` is the first Monday 00:00 UTC at least `days` ago, so the
 * oldest week is a whole week, and a weekly-partitioned history (migration 0011, on its branch) has it
 * in one partition; the history ends at most `step` before the load began. Every `failEvery`th execution
 * failed (the default, 33: 3 %), none has a retry, so each failure is a dead letter.
 *
 * Either schema: before migration 0011 (plain tables) or after it (tables partitioned by week on
 * `scheduled_at`, `executions.scheduled_at` present): the loader detects both, creates the weekly
 * partitions the history needs (the migration and the pruner create only the current week and the next
 * two) and fills `executions.scheduled_at`.
 */
import type pg from 'pg';
import { monoMs } from './time.js';

export interface HistoryLoadOptions {
  schema: string;
  rows: number;
  /** Distinct triggers (default 2,000); a multiple of `jobs` and of the 8 groups. */
  triggers?: number;
  /** Distinct jobs (default 10). */
  jobs?: number;
  /** The history reaches back to the first Monday at least this many days ago (default 89). */
  days?: number;
  /** One execution in this many failed (default 33). */
  failEvery?: number;
  /** Rows per statement (default 2,000,000). */
  chunk?: number;
  log?: (line: string) => void;
}

export interface LoadedHistory {
  rows: number;
  triggers: number;
  jobs: number;
  /** The first fire's scheduled time (a Monday 00:00 UTC), and the spacing of fires, in ms. */
  startMs: number;
  stepMs: number;
  /** The last fire's scheduled time. */
  endMs: number;
  /** The tables are partitioned (migration 0011). */
  partitioned: boolean;
  /** `executions.scheduled_at` exists and was filled. */
  executionsScheduledAt: boolean;
  /** Weekly partitions this load created (per table). */
  partitionsCreated: number;
  loadSeconds: number;
  vacuumSeconds: number;
}

export const HISTORY_GROUPS = [
  'billing',
  'reports',
  'sync',
  'cleanup',
  'notifications',
  'etl',
  'monitoring',
  'default',
] as const;

const WEEK_MS = 7 * 86_400_000;

function quoted(schema: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`bad schema ${schema}`);
  return `"${schema}"`;
}

/** Trigger k's name: `job-<k mod jobs>.t<k>`. */
export function historyTriggerName(k: number, jobs: number): string {
  return `job-${k % jobs}.t${k}`;
}

/** Whether `executions.scheduled_at` exists (migration 0011) and whether `fires` is partitioned. */
export async function historyShape(
  client: pg.ClientBase,
  schema: string,
): Promise<{ partitioned: boolean; executionsScheduledAt: boolean }> {
  const { rows } = await client.query<{ partitioned: boolean; column: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid
                      JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = $1 AND c.relname = 'fires') AS partitioned,
            EXISTS (SELECT 1 FROM information_schema.columns
                     WHERE table_schema = $1 AND table_name = 'executions' AND column_name = 'scheduled_at') AS column`,
    [schema],
  );
  return { partitioned: rows[0]!.partitioned, executionsScheduledAt: rows[0]!.column };
}

/** The first Monday 00:00 UTC at or after `ms`. */
export function mondayOnOrAfter(ms: number): number {
  const day = new Date(ms);
  const midnight = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate());
  const sinceMonday = (new Date(midnight).getUTCDay() + 6) % 7;
  const monday = midnight - sinceMonday * 86_400_000;
  return monday >= ms ? monday : monday + WEEK_MS;
}

/**
 * Creates the missing weekly partitions `<table>_pYYYYMMDD` of `fires` and `executions` (migration
 * 0011's names and Monday-to-Monday bounds) for the weeks from `fromMs` through `toMs`.
 */
async function createWeeklyPartitions(
  client: pg.ClientBase,
  schema: string,
  fromMs: number,
  toMs: number,
): Promise<number> {
  const s = quoted(schema);
  let created = 0;
  for (let week = mondayOnOrAfter(fromMs - WEEK_MS + 1); week <= toMs; week += WEEK_MS) {
    const suffix = new Date(week).toISOString().slice(0, 10).replaceAll('-', '');
    for (const table of ['fires', 'executions']) {
      const name = `${table}_p${suffix}`;
      const { rows } = await client.query<{ exists: boolean }>(
        'SELECT to_regclass($1) IS NOT NULL AS exists',
        [`${schema}.${name}`],
      );
      if (rows[0]!.exists) continue;
      await client.query(
        `CREATE TABLE ${s}.${name} PARTITION OF ${s}.${table}
           FOR VALUES FROM ('${new Date(week).toISOString()}') TO ('${new Date(week + WEEK_MS).toISOString()}')`,
      );
      if (table === 'fires') created += 1;
    }
  }
  return created;
}

/**
 * Loads the history into an empty, migrated schema (plus its triggers, jobs and three stopped
 * instances), then VACUUM ANALYZEs the two tables. `client` is a dedicated connection (it changes
 * session settings).
 */
export async function loadHistory(
  client: pg.ClientBase,
  options: HistoryLoadOptions,
): Promise<LoadedHistory> {
  const s = quoted(options.schema);
  const rows = options.rows;
  const triggers = options.triggers ?? 2_000;
  const jobs = options.jobs ?? 10;
  const days = options.days ?? 89;
  const failEvery = options.failEvery ?? 33;
  const chunk = options.chunk ?? 2_000_000;
  const log = options.log ?? (() => {});
  if (triggers % jobs !== 0 || triggers % HISTORY_GROUPS.length !== 0)
    throw new Error(`triggers (${triggers}) must be a multiple of jobs (${jobs}) and of 8`);
  const shape = await historyShape(client, options.schema);
  const { rows: clock } = await client.query<{ now: Date }>(`SELECT date_trunc('second', now()) AS now`);
  const nowMs = clock[0]!.now.getTime();
  const startMs = mondayOnOrAfter(nowMs - days * 86_400_000);
  const stepMs = Math.max(1, Math.floor((nowMs - startMs) / Math.max(1, rows)));
  const endMs = startMs + Math.max(0, rows - 1) * stepMs;
  const started = monoMs();
  const elapsed = () => `${((monoMs() - started) / 1000).toFixed(0)} s`;

  const partitionsCreated = shape.partitioned
    ? await createWeeklyPartitions(client, options.schema, startMs, nowMs)
    : 0;
  await client.query('SET session_replication_role = replica');
  await client.query('SET synchronous_commit = off');
  const start = new Date(startMs).toISOString();
  const periodMs = triggers * stepMs;
  await client.query(
    `INSERT INTO ${s}.jobs (name, source) SELECT format('job-%s', j), 'bench' FROM generate_series(0, $1::int - 1) j
       ON CONFLICT DO NOTHING`,
    [jobs],
  );
  // Trigger k fires at start + k × step + i × (triggers × step): an interval trigger anchored there,
  // complete (its end_at is its last fire), created before the history began.
  await client.query(
    `INSERT INTO ${s}.triggers (name, group_name, job_name, kind, spec, state, start_at, end_at, times_fired,
                                source, created_at, updated_at)
     SELECT format('job-%s.t%s', k % $2, k), ($3::text[])[k % 8 + 1], format('job-%s', k % $2), 'interval',
            jsonb_build_object('kind', 'interval', 'everyMs', $4::bigint,
                               'anchor', to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
            'complete', a.at, a.at + greatest(0, ($5::bigint - 1 - k) / $1) * $4::bigint * interval '1 millisecond',
            greatest(0, ($5::bigint - 1 - k) / $1 + 1), 'bench', $6::timestamptz, $6::timestamptz
       FROM generate_series(0, $1::int - 1) k
       CROSS JOIN LATERAL (SELECT $6::timestamptz + k * $7::bigint * interval '1 millisecond' AS at) a`,
    [triggers, jobs, HISTORY_GROUPS, periodMs, rows, start, stepMs],
  );
  await client.query(
    `INSERT INTO ${s}.instances (id, name, host, pid, version, lock_key, started_at, last_checkin_at, stopped_at, state)
     SELECT gen_random_uuid(), format('history-%s', i), 'bench', 1000 + i, 'bench', 2000000000 + i,
            $1::timestamptz, now(), now(), 'stopped'
       FROM generate_series(1, 3) i`,
    [start],
  );
  await client.query('DROP TABLE IF EXISTS pg_temp.history_triggers');
  await client.query(
    `CREATE TEMP TABLE history_triggers AS
     SELECT (regexp_match(name, '\\.t(\\d+)$'))[1]::int AS k, id, name, group_name, job_name
       FROM ${s}.triggers WHERE source = 'bench' AND name ~ '^job-\\d+\\.t\\d+$'`,
  );
  await client.query('CREATE UNIQUE INDEX ON history_triggers (k)');
  await client.query('ANALYZE history_triggers');
  const { rows: instances } = await client.query<{ ids: string[] }>(
    `SELECT array_agg(id ORDER BY name) AS ids FROM ${s}.instances WHERE name LIKE 'history-%'`,
  );
  const executionScheduledAt = shape.executionsScheduledAt;
  for (let from = 0; from < rows; from += chunk) {
    const to = Math.min(rows, from + chunk) - 1;
    await client.query(
      `WITH f AS (
         INSERT INTO ${s}.fires (trigger_id, trigger_name, trigger_group, job_name, scheduled_at, fired_at, instance_id)
         SELECT t.id, t.name, t.group_name, t.job_name, a.at, a.at + interval '3 milliseconds', ($5::uuid[])[n % 3 + 1]
           FROM generate_series($1::bigint, $2::bigint) n
           JOIN history_triggers t ON t.k = n % $3
           CROSS JOIN LATERAL (SELECT $4::timestamptz + n * $6::bigint * interval '1 millisecond' AS at) a
         RETURNING id, job_name, scheduled_at, fired_at, instance_id
       )
       INSERT INTO ${s}.executions (fire_id, attempt, job_name, status, instance_id, run_at, started_at, finished_at,
                                    error${executionScheduledAt ? ', scheduled_at' : ''})
       SELECT f.id, 1, f.job_name, CASE WHEN f.id % $7 = 0 THEN 'failed' ELSE 'succeeded' END, f.instance_id,
              f.fired_at, f.fired_at + interval '1 millisecond', f.fired_at + (f.id % 5000) * interval '1 millisecond',
              CASE WHEN f.id % $7 = 0 THEN 'Error: upstream returned 503' END${executionScheduledAt ? ', f.scheduled_at' : ''}
         FROM f`,
      [from, to, triggers, start, instances[0]!.ids, stepMs, failEvery],
    );
    log(
      `  history rows ${(to + 1).toLocaleString('en-US')} of ${rows.toLocaleString('en-US')} (${elapsed()})`,
    );
  }
  await client.query('SET session_replication_role = origin');
  const loadSeconds = (monoMs() - started) / 1000;
  const vacuumStarted = monoMs();
  await client.query(`VACUUM ANALYZE ${s}.fires`);
  await client.query(`VACUUM ANALYZE ${s}.executions`);
  await client.query(`ANALYZE ${s}.triggers`);
  const vacuumSeconds = (monoMs() - vacuumStarted) / 1000;
  log(
    `loaded ${rows.toLocaleString('en-US')} history rows in ${loadSeconds.toFixed(0)} s, VACUUM ANALYZE ${vacuumSeconds.toFixed(0)} s`,
  );
  return {
    rows,
    triggers,
    jobs,
    startMs,
    stepMs,
    endMs,
    partitioned: shape.partitioned,
    executionsScheduledAt: shape.executionsScheduledAt,
    partitionsCreated,
    loadSeconds,
    vacuumSeconds,
  };
}

export interface HistorySize {
  table: string;
  rows: number;
  tableBytes: number;
  indexBytes: number;
  partitions: number;
}

/** Heap (with TOAST) and index bytes of `fires` and `executions`, over all their partitions. */
export async function historySizes(client: pg.ClientBase, schema: string): Promise<HistorySize[]> {
  const out: HistorySize[] = [];
  for (const table of ['fires', 'executions']) {
    const { rows } = await client.query<{
      table_bytes: string;
      index_bytes: string;
      rows: string;
      parts: number;
    }>(
      `SELECT sum(pg_table_size(relid))::text AS table_bytes, sum(pg_indexes_size(relid))::text AS index_bytes,
              sum(CASE WHEN isleaf THEN (SELECT reltuples FROM pg_class WHERE oid = relid) ELSE 0 END)::bigint::text AS rows,
              (count(*) FILTER (WHERE isleaf AND level > 0))::int AS parts
         FROM (SELECT relid, isleaf, level FROM pg_partition_tree($1::regclass)
               UNION ALL -- a plain table has no partition tree
               SELECT $1::regclass, true, 0 WHERE NOT EXISTS (SELECT 1 FROM pg_partition_tree($1::regclass))) t`,
      [`${schema}.${table}`],
    );
    const row = rows[0]!;
    out.push({
      table,
      rows: Number(row.rows),
      tableBytes: Number(row.table_bytes),
      indexBytes: Number(row.index_bytes),
      partitions: row.parts,
    });
  }
  return out;
}
