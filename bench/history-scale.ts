/**
 * `npm run bench:history`: what a big history costs (issue #16, "insert cost and query timings at 100 M"),
 * on an embedded PostgreSQL (data under .tmp/, removed at the end), two databases side by side: one
 * with an empty history (N=0) and one loaded with N history rows (bench/support/history-load.ts: N fires,
 * one execution each, 2,000 triggers, 10 jobs, ~85 days, 3 % failed). In each:
 *
 * 1. load (N only): time, rows/s, table and index sizes;
 * 2. reads, p50/p95 over 20 runs through the store functions the admin API, the CLI and the metrics
 *    call: history pages (newest, the next by cursor, 60 days back; by job, trigger, failed, last 24 h),
 *    `belfry audit` of one day, the dead letters (newest page, and the gauge's count); measured
 *    before the drain, whose one-offs all share one scheduled instant and would top the history;
 * 3. the hot path: a drain of 20,000 one-offs due now (the rows `fireNow`/`scheduleAt` write) by 3
 *    replicas at defaults: fires/s and CPU µs per fire of the replicas and their PostgreSQL backends
 *    (from /proc, as bench/profile-drain.ts);
 * 4. retention (N only): the history pruner, through its class as the leader runs it, with a retention
 *    that expires exactly the oldest week: time of the passes until none is left, and the WAL written.
 *
 * `--tree <checkout>` runs another checkout's migrations, store, pruner and replicas (its
 * bench/belfry-replica.ts): e.g. the partitioned-history branch, for the "after" numbers. The loader
 * fills either schema (plain or weekly-partitioned `fires`/`executions`).
 *
 *   npm run bench:history                                   10 M rows, this checkout
 *   npx tsx bench/history-scale.ts --rows 100000000 --tree /work/wt-part
 *   options: --drain 20000 --replicas 3 --runs 20 --chunk 2000000 --out .tmp/history-scale.json
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sql } from 'kysely';
import pg from 'pg';
import type { ReplicaConfig } from './belfry-replica.js';
import { intFlag, parseFlags, stringFlag } from './support/args.js';
import { BenchChild, stopAll } from './support/children.js';
import { runMain } from './support/cleanup.js';
import { insertOneOffTriggers } from './support/belfry-db.js';
import {
  historySizes,
  historyTriggerName,
  loadHistory,
  type HistorySize,
  type LoadedHistory,
} from './support/history-load.js';
import {
  formatMb,
  formatTiming,
  renderMeasureTable,
  timeRuns,
  type MeasureColumn,
  type Timing,
} from './support/measure-table.js';
import { startBenchServer } from './support/postgres.js';
import { cpuPerFireUs, cpuSnapshot } from './support/proc-cpu.js';
import { writeFile, writeJson } from './support/report.js';
import { median, percentile, round } from './support/stats.js';
import { monoMs, sleep, wallMs } from './support/time.js';
// Types only: the code comes from the tree under test (--tree), loaded below.
import type * as AuditorModule from '../src/audit/history-auditor.js';
import type * as PrunerModule from '../src/cluster/history-pruner.js';
import type { PrunePass } from '../src/cluster/history-pruner.js';
import type * as DatabaseModule from '../src/store/database.js';
import type { Executor } from '../src/store/executor.js';
import type * as HistoryStoreModule from '../src/store/history-store.js';
import type * as MigratorModule from '../src/store/migrator.js';
import type * as OperationStoreModule from '../src/store/operation-store.js';

type Migrator = typeof MigratorModule;
type Database = typeof DatabaseModule;
type HistoryStore = typeof HistoryStoreModule;
type OperationStore = typeof OperationStoreModule;
type Auditor = typeof AuditorModule;
type Pruner = typeof PrunerModule;

const SCHEMA = 'belfry';
const DAY_MS = 86_400_000;
const log = (line: string) => process.stdout.write(`${line}\n`);

const flags = parseFlags({
  rows: { type: 'string' },
  tree: { type: 'string' },
  drain: { type: 'string' },
  replicas: { type: 'string' },
  runs: { type: 'string' },
  chunk: { type: 'string' },
  rounds: { type: 'string' },
  'read-timeout': { type: 'string' },
  out: { type: 'string' },
});
const ROWS = intFlag(flags.rows, 10_000_000);
const TREE = resolve(stringFlag(flags.tree) ?? process.cwd());
const DRAIN = intFlag(flags.drain, 20_000);
const REPLICAS = intFlag(flags.replicas, 3);
const RUNS = intFlag(flags.runs, 20);
const CHUNK = intFlag(flags.chunk, 2_000_000);
const DRAIN_ROUNDS = Math.max(1, intFlag(flags.rounds, 3));
const READ_TIMEOUT_MS = intFlag(flags['read-timeout'], 60) * 1000;
const READ_BUDGET_MS = 60_000;
const OUT = stringFlag(flags.out) ?? join(process.cwd(), '.tmp', 'history-scale.json');

const fromTree = async <T>(path: string): Promise<T> =>
  (await import(pathToFileURL(join(TREE, path)).href)) as T;
const { migrate } = await fromTree<Migrator>('src/store/migrator.ts');
const { openDatabase } = await fromTree<Database>('src/store/database.ts');
const { queryHistory } = await fromTree<HistoryStore>('src/store/history-store.ts');
const { listDeadLetters, countDeadLetters } = await fromTree<OperationStore>('src/store/operation-store.ts');
const { auditHistory } = await fromTree<Auditor>('src/audit/history-auditor.ts');
const { HistoryPruner } = await fromTree<Pruner>('src/cluster/history-pruner.ts');

interface Column extends MeasureColumn {
  database: string;
  url: string;
  details: Record<string, unknown>;
}

interface DrainRun {
  firesPerSec: number | null;
  allFinishedMs: number;
  cpu: { node: number | null; postgres: number | null };
}

/** A drain: DRAIN one-offs due now, REPLICAS replicas of the tree at defaults, on a fresh start. */
async function measureDrain(column: Column): Promise<DrainRun> {
  const pool = new pg.Pool({ connectionString: column.url, max: 2, application_name: 'bench-history' });
  const names = Array.from({ length: REPLICAS }, (_, i) => `history-${column.database}-${i + 1}`);
  const children = names.map(
    (name) =>
      new BenchChild({
        name,
        script: join(TREE, 'bench', 'belfry-replica.ts'),
        logDir: '.tmp/bench-logs',
        config: { connectionString: column.url, schema: SCHEMA, instanceName: name } satisfies ReplicaConfig,
      }),
  );
  try {
    await Promise.all(children.map((child) => child.ready()));
    await sleep(1_000);
    // The drain's attempts are those after the newest one now (no scan of the history by group).
    const { rows: top } = await pool.query<{ id: string }>(
      `SELECT coalesce(max(id), 0)::text AS id FROM ${SCHEMA}.executions`,
    );
    const progress = async () =>
      (
        await pool.query<{ n: number; last: Date | null }>(
          `SELECT count(*)::int AS n, max(started_at) AS last FROM ${SCHEMA}.executions
            WHERE id > $1::bigint AND finished_at IS NOT NULL`,
          [top[0]!.id],
        )
      ).rows[0]!;
    const pids = children.map((child) => child.pid);
    const before = await cpuSnapshot(pool, column.database, pids);
    const enqueuedAt = wallMs();
    const started = monoMs();
    await insertOneOffTriggers(pool, SCHEMA, {
      group: 'drain',
      job: 'noop',
      at: null,
      data: Array.from({ length: DRAIN }, () => ({})),
    });
    let done = await progress();
    while (done.n < DRAIN) {
      if (monoMs() - started > 600_000) throw new Error(`drain: ${done.n} of ${DRAIN} after 10 min`);
      await sleep(50);
      done = await progress();
    }
    const allFinishedMs = monoMs() - started;
    const cpu = cpuPerFireUs(before, await cpuSnapshot(pool, column.database, pids), DRAIN);
    const firesPerSec = round((DRAIN * 1_000) / Math.max(1, done.last!.getTime() - enqueuedAt), 0);
    log(
      `  ${column.label}: drain ${firesPerSec} fires/s (all finished in ${allFinishedMs.toFixed(0)} ms), CPU per fire ${cpu.node} µs replicas + ${cpu.postgres} µs PostgreSQL (load ${loadAverage()})`,
    );
    return { firesPerSec, allFinishedMs, cpu };
  } finally {
    await stopAll(children, { graceMs: 15_000 });
    await pool.end();
  }
}

/** Medians of the drains of a column. */
function drainCells(column: Column, runs: DrainRun[]): void {
  const m = (values: (number | null)[]) => median(values.filter((v): v is number => v !== null));
  column.cells['drain.firesPerSec'] = round(m(runs.map((r) => r.firesPerSec)), 0);
  column.cells['drain.allFinishedMs'] = round(m(runs.map((r) => r.allFinishedMs)), 0);
  column.cells['drain.nodeUs'] = round(m(runs.map((r) => r.cpu.node)), 0);
  column.cells['drain.postgresUs'] = round(m(runs.map((r) => r.cpu.postgres)), 0);
  column.details.drains = runs;
}

function loadAverage(): string {
  return loadavg()
    .map((v) => v.toFixed(1))
    .join(' ');
}

/** The reads, through the tree's store functions, on an executor with a statement timeout. */
async function measureReads(column: Column, ex: Executor, history: LoadedHistory | null): Promise<void> {
  const nowMs = wallMs();
  const jobs = history?.jobs ?? 10;
  const triggers = history?.triggers ?? 2_000;
  // The 50th newest row: the cursor of the second page (the newest page itself may be what is slow).
  const { rows: fiftieth } = await sql<{ scheduled_at: Date; execution_id: string | null }>`
    SELECT f.scheduled_at, (SELECT max(e.id)::text FROM ${sql.table(`${SCHEMA}.executions`)} e WHERE e.fire_id = f.id) AS execution_id
      FROM ${sql.table(`${SCHEMA}.fires`)} f ORDER BY f.scheduled_at DESC, f.id DESC OFFSET 49 LIMIT 1`.execute(
    ex.db,
  );
  const cursor = fiftieth[0]?.execution_id
    ? { scheduledAt: fiftieth[0].scheduled_at, executionId: fiftieth[0].execution_id }
    : undefined;
  // A day two weeks into the history (for N=0: any day).
  const day = Math.floor(((history?.startMs ?? nowMs - 30 * DAY_MS) + 14 * DAY_MS) / DAY_MS) * DAY_MS;
  let audit: Awaited<ReturnType<typeof auditHistory>> | undefined;
  const cases: [string, () => Promise<unknown>][] = [
    ['history: newest page (50)', () => queryHistory(ex, { limit: 50 })],
    ['history: next page by cursor', () => queryHistory(ex, { limit: 50, before: cursor })],
    [
      'history: page 60 days back (cursor)',
      () =>
        queryHistory(ex, {
          limit: 50,
          before: { scheduledAt: new Date(nowMs - 60 * DAY_MS), executionId: '9223372036854775807' },
        }),
    ],
    ['history: one job', () => queryHistory(ex, { limit: 50, job: `job-${3 % jobs}` })],
    [
      'history: one trigger',
      () => queryHistory(ex, { limit: 50, trigger: historyTriggerName(1234 % triggers, jobs) }),
    ],
    ['history: failed', () => queryHistory(ex, { limit: 50, status: ['failed'] })],
    ['history: last 24 h', () => queryHistory(ex, { limit: 50, since: new Date(nowMs - DAY_MS) })],
    [
      '`belfry audit` of one day',
      async () => (audit = await auditHistory(ex, { since: new Date(day), until: new Date(day + DAY_MS) })),
    ],
    ['dead letters: newest page (50)', () => listDeadLetters(ex, { limit: 50 })],
    ['dead letters: count (the gauge)', () => countDeadLetters(ex)],
  ];
  const reads: Record<string, Timing> = {};
  column.details.reads = reads;
  for (const [label, run] of cases) {
    const t = await timeRuns(run, { runs: RUNS, budgetMs: READ_BUDGET_MS, timeoutMs: READ_TIMEOUT_MS });
    column.cells[`read.${label}`] = formatTiming(t, RUNS);
    reads[label] = t;
    log(`  ${column.label}: ${label}: ${formatTiming(t, RUNS)}${t.n > 0 ? ' ms' : ''}`);
  }
  if (audit) {
    column.details.audit = {
      day: new Date(day).toISOString(),
      ok: audit.ok,
      triggersChecked: audit.triggersChecked,
      firesExpected: audit.firesExpected,
      fireViolations: audit.fireViolations.length,
      executionAnomalies: audit.executionAnomalies.length,
    };
    log(
      `  ${column.label}: the audit of ${new Date(day).toISOString().slice(0, 10)} says ${audit.ok ? 'OK' : 'VIOLATIONS'}: ${audit.triggersChecked} triggers, ${audit.firesExpected} expected fires`,
    );
  }
}

/** Retention: the pruner's passes with a retention that expires the oldest week, and their WAL. */
async function measureRetention(column: Column, ex: Executor, history: LoadedHistory): Promise<void> {
  const client = new pg.Client({ connectionString: column.url, application_name: 'bench-history' });
  await client.connect();
  try {
    const instanceId = randomUUID();
    const { rows: lease } = await client.query<{ epoch: string; now: Date }>(
      `UPDATE ${SCHEMA}.leader SET holder = $1, epoch = epoch + 1, acquired_at = now(), expires_at = now() + interval '1 day'
        WHERE id = 1 RETURNING epoch::text, now()`,
      [instanceId],
    );
    const epoch = Number(lease[0]!.epoch);
    const nowAt = lease[0]!.now;
    const cutoffMs = history.startMs + 7 * DAY_MS;
    const pruner = new HistoryPruner({
      executor: ex,
      instanceId: () => instanceId,
      retentionMs: nowAt.getTime() - cutoffMs,
      now: () => nowAt,
    });
    const count = async () =>
      Number(
        (
          await client.query<{ n: string }>(
            `SELECT count(*)::text AS n FROM ${SCHEMA}.fires WHERE scheduled_at < $1`,
            [new Date(cutoffMs)],
          )
        ).rows[0]!.n,
      );
    const expired = await count();
    await client.query('CHECKPOINT');
    const { rows: lsn } = await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    const passMs: number[] = [];
    let fires = 0;
    let executions = 0;
    let dropped = 0;
    const started = monoMs();
    for (;;) {
      const at = monoMs();
      // The partitioned branch reports the partitions it dropped too.
      const pass: PrunePass & { partitionsDropped?: number | string[] } = await pruner.pass(epoch);
      passMs.push(monoMs() - at);
      if (!pass.leaseHeld) throw new Error('the pruner lost its lease');
      fires += pass.fires;
      executions += pass.executions;
      const d = pass.partitionsDropped;
      dropped += Array.isArray(d) ? d.length : (d ?? 0);
      if (!pass.more) break;
    }
    const totalMs = monoMs() - started;
    const { rows: wal } = await client.query<{ bytes: string }>(
      'SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::text AS bytes',
      [lsn[0]!.lsn],
    );
    const left = await count();
    const walBytes = Number(wal[0]!.bytes);
    const sorted = [...passMs].sort((a, b) => a - b);
    column.cells['prune.expiredFires'] = expired;
    column.cells['prune.totalMs'] = round(totalMs, 0);
    column.cells['prune.passes'] = passMs.length;
    column.cells['prune.passP50Ms'] = round(percentile(sorted, 50), 1);
    column.cells['prune.rowsDeleted'] = fires + executions;
    column.cells['prune.partitionsDropped'] = dropped;
    column.cells['prune.walMb'] = round(walBytes / 1_048_576, 1);
    column.details.retention = {
      expired,
      left,
      totalMs,
      passMs,
      fires,
      executions,
      dropped,
      walBytes,
      cutoffMs,
    };
    log(
      `  ${column.label}: retention of the oldest week (${expired.toLocaleString('en-US')} fires): ${passMs.length} passes in ${totalMs.toFixed(0)} ms, ` +
        `${fires} fires + ${executions} executions deleted row by row, ${dropped} partitions dropped, WAL ${formatMb(walBytes)}; ${left} expired fires left`,
    );
    if (left !== 0) throw new Error(`retention left ${left} expired fires`);
  } finally {
    await client.end();
  }
}

function sizeCells(column: Column, sizes: HistorySize[]): void {
  for (const size of sizes) {
    column.cells[`size.${size.table}`] = `${formatMb(size.tableBytes)} + ${formatMb(size.indexBytes)}`;
    column.cells[`parts.${size.table}`] = size.partitions;
  }
  column.details.sizes = sizes;
}

const READS = [
  'history: newest page (50)',
  'history: next page by cursor',
  'history: page 60 days back (cursor)',
  'history: one job',
  'history: one trigger',
  'history: failed',
  'history: last 24 h',
  '`belfry audit` of one day',
  'dead letters: newest page (50)',
  'dead letters: count (the gauge)',
];

const ROWS_OF_TABLE: [string, string][] = [
  ['load.seconds', 'load: seconds (fires with their executions, then VACUUM ANALYZE)'],
  ['load.rowsPerSec', 'load: fires/s (each with its execution)'],
  ['size.fires', 'fires: table + indexes'],
  ['size.executions', 'executions: table + indexes'],
  ['parts.fires', 'partitions per table, with the default one (0: a plain table)'],
  ['drain.firesPerSec', 'drain of one-offs: fires/s (median)'],
  ['drain.allFinishedMs', 'drain: all finished (ms)'],
  ['drain.nodeUs', 'drain: CPU per fire, replicas (µs)'],
  ['drain.postgresUs', 'drain: CPU per fire, PostgreSQL (µs)'],
  ...READS.map((label): [string, string] => [`read.${label}`, `${label}: p50 / p95 (ms)`]),
  ['prune.expiredFires', 'retention: expired fires (the oldest week)'],
  ['prune.totalMs', 'retention: time to remove the week (ms)'],
  ['prune.passes', 'retention: pruner passes'],
  ['prune.passP50Ms', 'retention: pass p50 (ms)'],
  ['prune.rowsDeleted', 'retention: rows deleted one by one'],
  ['prune.partitionsDropped', 'retention: partitions dropped (fires + executions)'],
  ['prune.walMb', 'retention: WAL written (MB)'],
];

function gitCommit(dir: string): string {
  try {
    return execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

await runMain(async () => {
  const runStarted = monoMs();
  const loadAtStart = loadAverage();
  const server = await startBenchServer({ prefix: 'bench-history' });
  const admin = new pg.Client({ connectionString: server.url, application_name: 'bench-history' });
  await admin.connect();
  // Bulk-load settings: fewer checkpoints, and no autovacuum racing the load (the load ends with its
  // own VACUUM ANALYZE; autovacuum is back on for the rest).
  await admin.query(`ALTER SYSTEM SET max_wal_size = '2GB'`);
  await admin.query(`ALTER SYSTEM SET maintenance_work_mem = '512MB'`);
  await admin.query('ALTER SYSTEM SET autovacuum = off');
  await admin.query('SELECT pg_reload_conf()');
  const columns: Column[] = [];
  const handles: { column: Column; reads: Executor; long: Executor; destroy: () => Promise<void> }[] = [];
  for (const [label, name] of [
    ['N=0', 'history_empty'],
    [`N=${ROWS.toLocaleString('en-US')}`, 'history_n'],
  ] as const) {
    const url = await server.createDatabase(name);
    const open = (statementTimeoutMs: number) =>
      openDatabase({
        connectionString: url,
        schema: SCHEMA,
        maxConnections: 2,
        applicationName: 'bench-history',
        statementTimeoutMs,
      });
    const reads = open(READ_TIMEOUT_MS);
    const long = open(3_600_000);
    await migrate(long.pool, SCHEMA);
    const column: Column = { label, database: name, url, cells: {}, details: {} };
    columns.push(column);
    handles.push({
      column,
      reads: { db: reads.db, schema: SCHEMA },
      long: { db: long.db, schema: SCHEMA },
      destroy: async () => {
        await reads.destroy();
        await long.destroy();
      },
    });
  }
  const full = handles[1]!;

  log(`1. loading ${ROWS.toLocaleString('en-US')} history rows (tree ${TREE}, load ${loadAtStart})`);
  const loader = new pg.Client({ connectionString: full.column.url, application_name: 'bench-history' });
  await loader.connect();
  const history = await loadHistory(loader, { schema: SCHEMA, rows: ROWS, chunk: CHUNK, log });
  await loader.end();
  full.column.cells['load.seconds'] = round(history.loadSeconds + history.vacuumSeconds, 0);
  full.column.cells['load.rowsPerSec'] = round(ROWS / Math.max(0.001, history.loadSeconds), 0);
  full.column.details.load = history;
  await admin.query('ALTER SYSTEM RESET autovacuum');
  await admin.query('SELECT pg_reload_conf()');
  for (const { column } of handles) {
    const client = new pg.Client({ connectionString: column.url, application_name: 'bench-history' });
    await client.connect();
    sizeCells(column, await historySizes(client, SCHEMA));
    await client.end();
  }
  for (const size of full.column.details.sizes as HistorySize[])
    log(
      `  ${size.table}: ${size.rows.toLocaleString('en-US')} rows, table ${formatMb(size.tableBytes)}, indexes ${formatMb(size.indexBytes)}, ${size.partitions} partitions`,
    );

  log(`2. reads (p50 / p95 of ${RUNS} runs after 2 warm-ups; statement timeout ${READ_TIMEOUT_MS / 1000} s)`);
  for (const { column, reads } of handles)
    await measureReads(column, reads, column === full.column ? history : null);

  log(
    `3. drains of ${DRAIN.toLocaleString('en-US')} one-offs, ${REPLICAS} replicas at defaults, ${DRAIN_ROUNDS} rounds`,
  );
  const drains = new Map<Column, DrainRun[]>(columns.map((c) => [c, []]));
  for (let round = 0; round < DRAIN_ROUNDS; round++)
    for (const column of columns) drains.get(column)!.push(await measureDrain(column));
  for (const [column, runs] of drains) drainCells(column, runs);

  log('4. retention: the oldest week expires');
  if (ROWS > 0) await measureRetention(full.column, full.long, history);

  for (const { destroy } of handles) await destroy();
  const { rows: version } = await admin.query<{ v: string }>(`SELECT current_setting('server_version') AS v`);
  for (const column of columns) await admin.query(`DROP DATABASE ${column.database} WITH (FORCE)`);
  await admin.end();
  await server.stop();

  const seconds = Math.round((monoMs() - runStarted) / 1000);
  const commit = gitCommit(TREE);
  const spanDays = (history.endMs - history.startMs) / DAY_MS;
  const settings =
    `N = ${ROWS.toLocaleString('en-US')} fires with one execution each (${history.triggers.toLocaleString('en-US')} interval triggers, ` +
    `${history.jobs} jobs, 8 groups, a fire every ${history.stepMs.toLocaleString('en-US')} ms from ${new Date(history.startMs).toISOString().slice(0, 10)} ` +
    `(a Monday) over ${spanDays.toFixed(1)} days, 1 in 33 failed: dead letters); schema: ${history.partitioned ? 'weekly partitions' : 'plain tables'} ` +
    `(${TREE} at ${commit}); drain: ${DRAIN.toLocaleString('en-US')} one-offs due now, ${REPLICAS} replicas at defaults, median of ${DRAIN_ROUNDS} rounds ` +
    `(N=0 and N alternating); reads: p50 / p95 of ${RUNS} runs after 2 warm-ups (n= when fewer: a read over 5 s runs for ` +
    `${READ_BUDGET_MS / 1000} s at most), statement timeout ${READ_TIMEOUT_MS / 1000} s; retention: the pruner's passes until the oldest week is gone; ` +
    `PostgreSQL ${version[0]!.v} embedded (fsync off, shared_buffers 128 MB), ${cpus().length} cores, node ${process.version}, ` +
    `load average ${loadAtStart} at the start, ${loadAverage()} at the end.`;
  const markdown = renderMeasureTable(columns, ROWS_OF_TABLE);
  const command = `npx tsx bench/history-scale.ts ${process.argv.slice(2).join(' ')}`.trim();
  log(`\n${markdown}\n\nSettings: ${settings}\n`);
  const mdPath = `${OUT.replace(/\.json$/, '')}.md`;
  writeFile(mdPath, `${markdown}\n\nSettings: ${settings}\n\nRun: \`${command}\`, ${seconds} s.\n`);
  writeJson(OUT, {
    command,
    seconds,
    tree: TREE,
    commit,
    settings,
    columns: columns.map(({ label, database, cells, details }) => ({ label, database, cells, details })),
  });
  log(`results: ${OUT}, table: ${mdPath} (run took ${seconds} s)`);
});
