/**
 * The audit queries at 10 million history rows: generates realistic history in a migrated schema on an
 * embedded PostgreSQL, then runs every query documented in docs/audit.md (read from the file, by its
 * `<!-- query: NAME -->` marker) with EXPLAIN (ANALYZE, BUFFERS), plus one retention batch and the
 * `belfry history` store query, and prints plans and a timings table.
 *
 *   npx tsx scripts/history-at-scale.ts [--rows 10000000] [--runs 3] [--keep] [--plans FILE]
 *
 * --keep keeps the data directory (.tmp/history-at-scale) and reuses it on the next run, skipping the
 * generation; without it the directory is removed at the end. The last step really deletes the history
 * older than 80 days (as the leader's retention would), so a reused directory holds 80 days.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/dev/embedded-postgres.js';
import { openDatabase } from '../src/store/database.js';
import { inTransaction } from '../src/store/executor.js';
import { queryHistory } from '../src/store/history-store.js';
import { migrate } from '../src/store/migrator.js';
import {
  pruneCompletedOneOffTriggers,
  pruneExpiredFires,
  pruneGoneInstances,
} from '../src/store/retention-store.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000000' },
    runs: { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
    plans: { type: 'string' },
  },
});
const ROWS = Number(args.rows);
const RUNS = Math.max(1, Number(args.runs));
const SCHEMA = 'belfry';
const DATA_DIR = join(process.cwd(), '.tmp', 'history-at-scale');
const DAYS = 90;
const TRIGGERS = 200;
const JOBS = 50;
const DEPLOYS = 10;
const REPLICAS = 3;
/** Executions per fire: retries of failed attempts and re-runs of recovered ones add about 2.8 %. */
const ATTEMPTS_PER_FIRE = 1.028;
const CHUNK = 1_000_000;

const log = (line: string) => process.stdout.write(`${line}\n`);
const elapsed = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

function documentedQueries(): { name: string; sql: string }[] {
  const text = readFileSync(join(process.cwd(), 'docs', 'audit.md'), 'utf8');
  const found = [...text.matchAll(/<!-- query: ([a-z0-9-]+) -->\s*```sql\n([\s\S]*?)```/g)];
  return found.map((match) => ({ name: match[1]!, sql: match[2]!.trim().replace(/;$/, '') }));
}

async function generate(client: pg.Client): Promise<void> {
  const fires = Math.round(ROWS / ATTEMPTS_PER_FIRE);
  const started = performance.now();
  await client.query(`SET search_path TO ${SCHEMA}`);
  // Bulk load: skip the per-row foreign-key triggers (the rows are consistent by construction).
  await client.query('SET session_replication_role = replica');
  await client.query(`
    INSERT INTO jobs (name, description, max_attempts, source)
    SELECT CASE WHEN j = 1 THEN 'nightly-report' ELSE format('job-%s', lpad(j::text, 2, '0')) END,
           'generated', 3, 'yaml'
      FROM generate_series(1, ${JOBS}) j`);
  await client.query(`
    INSERT INTO triggers (name, group_name, job_name, kind, spec, state, next_fire_at, source)
    SELECT format('%s.t%s', j.name, t), (ARRAY['billing','reports','sync','cleanup','notifications','etl','monitoring','default'])[t % 8 + 1],
           j.name, 'interval', jsonb_build_object('kind', 'interval', 'everyMs', 160000), 'waiting', now(), 'yaml'
      FROM generate_series(0, ${TRIGGERS - 1}) t
      JOIN (SELECT name, row_number() OVER (ORDER BY name) - 1 AS k FROM jobs) j ON j.k = t % ${JOBS}`);
  // Ten deployments of three replicas over the 90 days; the last deployment is still running.
  await client.query(`
    INSERT INTO instances (id, name, host, pid, version, lock_key, started_at, last_checkin_at, stopped_at, state)
    SELECT gen_random_uuid(), format('replica-%s-%s', d, r), format('host-%s', r), 1000 + d * 10 + r, '0.1.0',
           1 + d * 10 + r,
           now() - interval '${DAYS} days' + d * interval '${DAYS / DEPLOYS} days',
           CASE WHEN d = ${DEPLOYS - 1} THEN now() ELSE now() - interval '${DAYS} days' + (d + 1) * interval '${DAYS / DEPLOYS} days' END,
           CASE WHEN d = ${DEPLOYS - 1} THEN NULL ELSE now() - interval '${DAYS} days' + (d + 1) * interval '${DAYS / DEPLOYS} days' END,
           CASE WHEN d = ${DEPLOYS - 1} THEN 'active' ELSE 'stopped' END
      FROM generate_series(0, ${DEPLOYS - 1}) d, generate_series(1, ${REPLICAS}) r`);
  await client.query(`CREATE TEMP TABLE trigger_map AS
    SELECT row_number() OVER (ORDER BY t.id) - 1 AS k, t.id, t.name, t.group_name, t.job_name,
           20 * (1 + (row_number() OVER (ORDER BY t.id) - 1) % 20) AS base_ms FROM triggers t`);
  await client.query(`CREATE TEMP TABLE instance_map AS
    SELECT split_part(name, '-', 2)::int AS d, split_part(name, '-', 3)::int AS r, id, name FROM instances`);
  await client.query('SELECT setseed(0.42)');
  const startAt = `now() - interval '${DAYS} days'`;
  const stepMs = (DAYS * 86_400_000) / fires;
  log(`generating ${fires.toLocaleString()} fires over ${DAYS} days (one every ${stepMs.toFixed(0)} ms)`);
  for (let from = 0; from < fires; from += CHUNK) {
    const to = Math.min(fires, from + CHUNK) - 1;
    const chunkStarted = performance.now();
    // A fire every stepMs ms, round-robin over the triggers; 0.2 % are 5-120 s late (an overloaded hour).
    await client.query(`
      INSERT INTO fires (trigger_id, trigger_name, trigger_group, job_name, scheduled_at, fired_at, instance_id, trace_context)
      SELECT tm.id, tm.name, tm.group_name, tm.job_name, s.at,
             s.at + CASE WHEN random() < 0.002 THEN (5000 + random() * 115000) ELSE 2 + random() * 15 END * interval '1 millisecond',
             im.id, NULL
        FROM generate_series(${from}::bigint, ${to}::bigint) n
        CROSS JOIN LATERAL (SELECT date_trunc('milliseconds', ${startAt} + n * ${stepMs} * interval '1 millisecond') AS at) s
        JOIN trigger_map tm ON tm.k = n % ${TRIGGERS}
        JOIN instance_map im ON im.d = least(${DEPLOYS - 1}, n * ${DEPLOYS} / ${fires}) AND im.r = 1 + (n * 7919) % ${REPLICAS}`);
    log(`  fires ${(to + 1).toLocaleString()} (${elapsed(chunkStarted)})`);
  }
  const { rows: bounds } = await client.query<{ min: string; max: string }>(
    'SELECT min(id) AS min, max(id) AS max FROM fires',
  );
  const minId = Number(bounds[0]!.min);
  const maxId = Number(bounds[0]!.max);
  for (let from = minId; from <= maxId; from += CHUNK) {
    const to = Math.min(maxId, from + CHUNK - 1);
    const chunkStarted = performance.now();
    await client.query(`
      INSERT INTO executions (fire_id, scheduled_at, attempt, job_name, status, instance_id, run_at, started_at, finished_at, error, trace_id)
      SELECT f.id, f.scheduled_at, 1, f.job_name, x.status, f.instance_id, f.fired_at,
             CASE WHEN x.status IN ('skipped', 'misfired', 'vetoed') THEN NULL ELSE f.fired_at + interval '1 millisecond' END,
             CASE WHEN x.status IN ('skipped', 'misfired', 'vetoed') THEN f.fired_at
                  WHEN x.status = 'timed_out' THEN f.fired_at + interval '30001 milliseconds'
                  ELSE f.fired_at + interval '1 millisecond'
                       + tm.base_ms * (0.5 + random()) * CASE WHEN random() < 0.01 THEN 10 ELSE 1 END * interval '1 millisecond' END,
             CASE x.status
               WHEN 'failed' THEN (ARRAY['Error: upstream returned 503', 'Error: connect ECONNREFUSED 10.0.0.7:5432',
                                         'TypeError: Cannot read properties of undefined (reading ''id'')',
                                         'Error: upstream returned 429 (rate limited)'])[1 + (f.id % 4)::int]
               WHEN 'timed_out' THEN 'timed out after 30000 ms'
               WHEN 'skipped' THEN 'skipped: concurrency forbid and the previous execution is still running'
               WHEN 'misfired' THEN 'misfired: 75 s late (threshold 60 s); policy skip'
               WHEN 'vetoed' THEN 'vetoed by listener maintenance-window'
               WHEN 'recovered' THEN 're-dispatched: instance ' || im.name || ' (' || im.id || ') is dead: database session ended'
               WHEN 'abandoned' THEN 'abandoned: instance ' || im.name || ' (' || im.id || ') is dead: no check-in for 10.4 s'
             END,
             md5(f.id::text)
        FROM (SELECT f.id, f.scheduled_at, f.trigger_id, f.job_name, f.instance_id, f.fired_at, random() AS r
                FROM fires f WHERE f.id BETWEEN ${from} AND ${to}) f
        JOIN trigger_map tm ON tm.id = f.trigger_id
        JOIN instance_map im ON im.id = f.instance_id
        CROSS JOIN LATERAL (SELECT CASE WHEN f.r < 0.935 THEN 'succeeded' WHEN f.r < 0.965 THEN 'failed'
                                        WHEN f.r < 0.975 THEN 'timed_out' WHEN f.r < 0.988 THEN 'skipped'
                                        WHEN f.r < 0.993 THEN 'misfired' WHEN f.r < 0.995 THEN 'vetoed'
                                        WHEN f.r < 0.999 THEN 'recovered' ELSE 'abandoned' END AS status) x`);
    log(`  executions for fires ${from.toLocaleString()}..${to.toLocaleString()} (${elapsed(chunkStarted)})`);
  }
  // Retries: 80 % of failed first attempts get a second attempt on another replica after a 1 s backoff;
  // every recovered attempt is re-run.
  const retryStarted = performance.now();
  await client.query(`
    INSERT INTO executions (fire_id, scheduled_at, attempt, job_name, status, instance_id, run_at, started_at, finished_at, error, trace_id)
    SELECT e.fire_id, e.scheduled_at, 2, e.job_name, x.status, nxt.id, e.finished_at + interval '1 second',
           e.finished_at + interval '1001 milliseconds',
           e.finished_at + interval '1001 milliseconds' + (20 + random() * 400) * interval '1 millisecond',
           CASE WHEN x.status = 'failed' THEN 'Error: upstream returned 503' END, e.trace_id
      FROM (SELECT e.*, random() AS r FROM executions e WHERE e.attempt = 1 AND e.status IN ('failed', 'recovered')) e
      JOIN instance_map im ON im.id = e.instance_id
      JOIN instance_map nxt ON nxt.d = im.d AND nxt.r = 1 + im.r % ${REPLICAS}
      CROSS JOIN LATERAL (SELECT CASE WHEN e.status = 'failed' AND e.r < 0.08 THEN 'failed' ELSE 'succeeded' END AS status) x
     WHERE e.status = 'recovered' OR e.r < 0.8`);
  log(`  retries (${elapsed(retryStarted)})`);
  await client.query('SET session_replication_role = DEFAULT');
  const vacuumStarted = performance.now();
  await client.query('VACUUM ANALYZE fires, executions, triggers, jobs, instances');
  log(`VACUUM ANALYZE (${elapsed(vacuumStarted)}); generated in ${elapsed(started)}`);
}

interface Timing {
  name: string;
  rows: number;
  times: number[];
  plan: string;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function explain(client: pg.Client, name: string, text: string): Promise<Timing> {
  const times: number[] = [];
  let plan = '';
  let rows = 0;
  for (let run = 0; run < RUNS; run += 1) {
    const { rows: lines } = await client.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN (ANALYZE, BUFFERS) ${text}`,
    );
    plan = lines.map((line) => line['QUERY PLAN']).join('\n');
    const total = /Execution Time: ([\d.]+) ms/.exec(plan);
    const planning = /Planning Time: ([\d.]+) ms/.exec(plan);
    times.push(Number(total?.[1] ?? NaN) + Number(planning?.[1] ?? 0));
    rows = Number(/actual time=[\d.]+\.\.[\d.]+ rows=(\d+)/.exec(plan)?.[1] ?? 0);
  }
  return { name, rows, times, plan };
}

/** Times `work` end to end, RUNS times. */
async function timeCall(name: string, work: () => Promise<number>): Promise<Timing> {
  const times: number[] = [];
  let rows = 0;
  for (let run = 0; run < RUNS; run += 1) {
    const started = performance.now();
    rows = await work();
    times.push(performance.now() - started);
  }
  return { name, rows, times, plan: '' };
}

async function main(): Promise<void> {
  const overall = performance.now();
  const server = await startEmbeddedPostgres({
    dataDir: DATA_DIR,
    persistent: args.keep,
    maxConnections: 20,
    env: process.env,
  });
  const pool = new pg.Pool({ connectionString: server.url, max: 4 });
  const client = new pg.Client({ connectionString: server.url });
  const database = openDatabase({
    connectionString: server.url,
    schema: SCHEMA,
    maxConnections: 2,
    statementTimeoutMs: 600_000,
  });
  try {
    await client.connect();
    const migrated = await migrate(pool, SCHEMA);
    if (migrated.applied.length) log(`migrated: ${migrated.applied.map((m) => m.name).join(', ')}`);
    const { rows: count } = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${SCHEMA}.executions`,
    );
    if (Number(count[0]!.n) === 0) await generate(client);
    else {
      log(`reusing ${Number(count[0]!.n).toLocaleString()} existing rows in ${DATA_DIR}`);
      await client.query(`VACUUM ANALYZE ${SCHEMA}.fires, ${SCHEMA}.executions`);
    }
    const { rows: stats } = await client.query<{
      executions: string;
      fires: string;
      size: string;
      version: string;
    }>(`
      SELECT (SELECT count(*) FROM ${SCHEMA}.executions) AS executions, (SELECT count(*) FROM ${SCHEMA}.fires) AS fires,
             pg_size_pretty(pg_total_relation_size('${SCHEMA}.executions') + pg_total_relation_size('${SCHEMA}.fires')) AS size,
             current_setting('server_version') AS version`);
    const s = stats[0]!;
    log(
      `PostgreSQL ${s.version}: ${Number(s.executions).toLocaleString()} executions (history rows), ${Number(s.fires).toLocaleString()} fires, ${s.size} with indexes`,
    );

    await client.query(`SET search_path TO ${SCHEMA}`);
    const timings: Timing[] = [];
    for (const query of documentedQueries()) {
      const timing = await explain(client, query.name, query.sql);
      timings.push(timing);
      log(
        `\n=== ${query.name}: median ${median(timing.times).toFixed(1)} ms over ${RUNS} runs\n${query.sql}\n\n${timing.plan}`,
      );
    }

    const ex = { db: database.db, schema: database.schema };
    // What `belfry history` and GET /api/v1/history run, through the real store code.
    timings.push(
      await timeCall(
        'store: queryHistory (no filter)',
        async () => (await queryHistory(ex, { limit: 100 })).length,
      ),
    );
    timings.push(
      await timeCall('store: queryHistory --group billing --status failed --since 24h', async () => {
        const since = (await client.query<{ t: Date }>(`SELECT now() - interval '24 hours' AS t`)).rows[0]!.t;
        return (await queryHistory(ex, { group: 'billing', status: ['failed'], since, limit: 100 })).length;
      }),
    );
    timings.push(
      await timeCall(
        'store: queryHistory --instance replica-9-1 --min-duration 1s',
        async () =>
          (await queryHistory(ex, { instance: 'replica-9-1', minDurationMs: 1000, limit: 100 })).length,
      ),
    );
    // One retention batch (5,000 fires with their executions), rolled back so every run deletes the same.
    const prune = async (retentionDays: number) => {
      let deleted = 0;
      await inTransaction(ex, async (tx) => {
        const result = await pruneExpiredFires(tx, { retentionMs: retentionDays * 86_400_000, limit: 5_000 });
        deleted = result.fires + result.executions;
        throw new RollBack();
      }).catch((error: unknown) => {
        if (!(error instanceof RollBack)) throw error;
      });
      return deleted;
    };
    timings.push(
      await timeCall('retention: one batch of 5,000 expired fires (+ executions)', () => prune(80)),
    );
    timings.push(await timeCall('retention: nothing expired (90 d cutoff, steady state)', () => prune(91)));
    timings.push(
      await timeCall('retention: completed one-offs', () =>
        pruneCompletedOneOffTriggers(ex, { retentionMs: 90 * 86_400_000, limit: 5_000 }),
      ),
    );
    // Last, because it deletes for real: drain the history older than 80 days the way the leader does,
    // 5,000 fires per transaction, then time the instance-row cleanup that follows (rolled back).
    const drainStarted = performance.now();
    const batches: number[] = [];
    for (let more = true; more;) {
      const started = performance.now();
      const { fires } = await inTransaction(ex, (tx) =>
        pruneExpiredFires(tx, { retentionMs: 80 * 86_400_000, limit: 5_000 }),
      );
      batches.push(performance.now() - started);
      more = fires === 5_000;
    }
    const drained: Timing = {
      name: `retention: drain 10 expired days, ${batches.length} batches (per batch)`,
      rows: 5_000,
      times: batches,
      plan: '',
    };
    log(`drained 10 days of expired history in ${batches.length} transactions, ${elapsed(drainStarted)}`);
    timings.push(drained);
    timings.push(
      await timeCall('retention: gone instances, once the fires caught up', async () => {
        let deleted = 0;
        await inTransaction(ex, async (tx) => {
          deleted = await pruneGoneInstances(tx, { retentionMs: 80 * 86_400_000, limit: 5_000 });
          throw new RollBack();
        }).catch((error: unknown) => {
          if (!(error instanceof RollBack)) throw error;
        });
        return deleted;
      }),
    );

    const table = [
      `| query | rows returned | median (ms) | min (ms) | max (ms) |`,
      `| --- | ---: | ---: | ---: | ---: |`,
      ...timings.map(
        (t) =>
          `| ${t.name} | ${t.rows} | ${median(t.times).toFixed(1)} | ${Math.min(...t.times).toFixed(1)} | ${Math.max(...t.times).toFixed(1)} |`,
      ),
    ].join('\n');
    log(
      `\n${Number(s.executions).toLocaleString()} history rows, ${RUNS} runs each (EXPLAIN ANALYZE execution + planning time; store calls timed end to end):\n\n${table}\n`,
    );
    if (args.plans) {
      writeFileSync(
        args.plans,
        timings
          .filter((t) => t.plan)
          .map((t) => `=== ${t.name}\n${t.plan}\n`)
          .join('\n'),
      );
      log(`plans written to ${args.plans}`);
    }
    log(`done in ${elapsed(overall)}`);
  } finally {
    await client.end().catch(() => {});
    await pool.end().catch(() => {});
    await database.destroy().catch(() => {});
    await server.stop();
    if (!args.keep) rmSync(DATA_DIR, { recursive: true, force: true });
  }
}

class RollBack extends Error {}

await main();
