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
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
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
import { startBenchServer, type BenchServer } from './support/postgres.js';
import { cpuPerFireUs, cpuSnapshot } from './support/proc-cpu.js';
import { writeFile, writeJson } from './support/report.js';
import { percentile, round } from './support/stats.js';
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
  out: { type: 'string' },
});
const ROWS = intFlag(flags.rows, 10_000_000);
const TREE = resolve(stringFlag(flags.tree) ?? process.cwd());
const DRAIN = intFlag(flags.drain, 20_000);
const REPLICAS = intFlag(flags.replicas, 3);
const RUNS = intFlag(flags.runs, 20);
const CHUNK = intFlag(flags.chunk, 2_000_000);
const OUT = stringFlag(flags.out) ?? join(process.cwd(), '.tmp', 'history-scale.json');

const fromTree = async <T>(path: string): Promise<T> =>
  (await import(pathToFileURL(join(TREE, path)).href)) as T;
const { migrate } = await fromTree<Migrator>('src/store/migrator.ts');
const { openDatabase } = await fromTree<Database>('src/store/database.ts');
const { queryHistory } = await fromTree<HistoryStore>('src/store/history-store.ts');
const { listDeadLetters, countDeadLetters } = await fromTree<OperationStore>('src/store/operation-store.ts');
const { auditHistory } = await fromTree<Auditor>('src/audit/history-auditor.ts');
const { HistoryPruner } = await fromTree<Pruner>('src/cluster/history-pruner.ts');

/** One measured cell: a number, or p50/p95 of timings. */
type Cell = number | string | null;
interface Column {
  label: string;
  database: string;
  url: string;
  cells: Record<string, Cell>;
  details: Record<string, unknown>;
}

async function timings(
  runs: number,
  run: () => Promise<unknown>,
  budgetMs = 120_000,
): Promise<{ p50: number; p95: number; n: number }> {
  for (let i = 0; i < 2; i++) await run();
  const samples: number[] = [];
  const started = monoMs();
  while (samples.length < runs && (samples.length < 3 || monoMs() - started < budgetMs)) {
    const at = monoMs();
    await run();
    samples.push(monoMs() - at);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50)!, p95: percentile(sorted, 95)!, n: samples.length };
}

const ms = (t: { p50: number; p95: number; n: number }) =>
  `${fmt(t.p50)} / ${fmt(t.p95)}${t.n < RUNS ? ` (n=${t.n})` : ''}`;
function fmt(value: number): string {
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  if (value >= 100) return Math.round(value).toLocaleString('en-US');
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}
const mb = (bytes: number) => `${Math.round(bytes / 1_048_576).toLocaleString('en-US')} MB`;

/** The drain: DRAIN one-offs due now, REPLICAS replicas of the tree at defaults. */
async function measureDrain(server: BenchServer, column: Column): Promise<void> {
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
    const { rows: top } = await pool.query<{ id: string }>(
      `SELECT coalesce(max(id), 0)::text AS id FROM ${SCHEMA}.executions`,
    );
    const after = top[0]!.id;
    const progress = async () =>
      (
        await pool.query<{ n: number; last: Date | null }>(
          `SELECT count(*)::int AS n, max(started_at) AS last FROM ${SCHEMA}.executions
            WHERE id > $1::bigint AND finished_at IS NOT NULL`,
          [after],
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
    const lastStart = done.last!.getTime();
    const firesPerSec = round((DRAIN * 1_000) / Math.max(1, lastStart - enqueuedAt), 0);
    column.cells['drain.firesPerSec'] = firesPerSec;
    column.cells['drain.allFinishedMs'] = round(allFinishedMs, 0);
    column.cells['drain.nodeUs'] = cpu.node;
    column.cells['drain.postgresUs'] = cpu.postgres;
    column.details.drain = {
      firesPerSec,
      allFinishedMs,
      cpu,
      xacts: await server.transactions(column.database),
    };
    log(
      `  ${column.label}: drain ${firesPerSec} fires/s (all finished in ${allFinishedMs.toFixed(0)} ms), CPU per fire ${cpu.node} µs node + ${cpu.postgres} µs PostgreSQL`,
    );
  } finally {
    await stopAll(children, { graceMs: 15_000 });
    await pool.end();
  }
}

/** The reads, through the tree's store functions. */
async function measureReads(column: Column, ex: Executor, history: LoadedHistory | null): Promise<void> {
  const nowMs = wallMs();
  const jobs = history?.jobs ?? 10;
  const triggers = history?.triggers ?? 2_000;
  const first = await queryHistory(ex, { limit: 50 });
  const last = first.at(-1);
  const day = Math.floor(((history?.startMs ?? nowMs - 30 * DAY_MS) + 14 * DAY_MS) / DAY_MS) * DAY_MS;
  const audit = await auditHistory(ex, { since: new Date(day), until: new Date(day + DAY_MS) });
  column.details.audit = {
    ok: audit.ok,
    triggersChecked: audit.triggersChecked,
    firesExpected: audit.firesExpected,
    fireViolations: audit.fireViolations.length,
    executionAnomalies: audit.executionAnomalies.length,
  };
  log(
    `  ${column.label}: audit of ${new Date(day).toISOString().slice(0, 10)}: ${audit.ok ? 'OK' : 'VIOLATIONS'}, ${audit.triggersChecked} triggers, ${audit.firesExpected} expected fires`,
  );
  const cases: [string, () => Promise<unknown>][] = [
    ['history: newest page (50)', () => queryHistory(ex, { limit: 50 })],
    [
      'history: next page by cursor',
      () =>
        queryHistory(ex, {
          limit: 50,
          before: last ? { scheduledAt: last.scheduledAt, executionId: last.executionId } : undefined,
        }),
    ],
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
      () => auditHistory(ex, { since: new Date(day), until: new Date(day + DAY_MS) }),
    ],
    ['dead letters: newest page (50)', () => listDeadLetters(ex, { limit: 50 })],
    ['dead letters: count (the gauge)', () => countDeadLetters(ex)],
  ];
  const reads: Record<string, unknown> = {};
  column.details.reads = reads;
  for (const [label, run] of cases) {
    const t = await timings(RUNS, run);
    column.cells[`read.${label}`] = ms(t);
    reads[label] = t;
    log(`  ${column.label}: ${label}: p50 ${fmt(t.p50)} ms, p95 ${fmt(t.p95)} ms (n=${t.n})`);
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
        `${fires} fires + ${executions} executions deleted row by row, ${dropped} partitions dropped, WAL ${mb(walBytes)}; ${left} expired fires left`,
    );
    if (left !== 0) throw new Error(`retention left ${left} expired fires`);
  } finally {
    await client.end();
  }
}

function sizeCells(column: Column, sizes: HistorySize[]): void {
  for (const size of sizes) {
    column.cells[`size.${size.table}`] = `${mb(size.tableBytes)} + ${mb(size.indexBytes)}`;
    column.cells[`parts.${size.table}`] = size.partitions;
  }
  column.details.sizes = sizes;
}

const ROW_LABELS: [string, string][] = [
  ['load.seconds', 'load: seconds (fires + executions, then VACUUM ANALYZE)'],
  ['load.rowsPerSec', 'load: fires/s (each with its execution)'],
  ['size.fires', 'fires: table + indexes'],
  ['size.executions', 'executions: table + indexes'],
  ['parts.fires', 'partitions per table (0: a plain table)'],
  ['drain.firesPerSec', 'drain of one-offs: fires/s'],
  ['drain.allFinishedMs', 'drain: all finished (ms)'],
  ['drain.nodeUs', 'drain: CPU per fire, replicas (µs)'],
  ['drain.postgresUs', 'drain: CPU per fire, PostgreSQL (µs)'],
];

function renderTable(columns: Column[]): string {
  const keys = new Set(columns.flatMap((c) => Object.keys(c.cells)));
  const labels = new Map(ROW_LABELS);
  const readKeys = [...keys].filter((k) => k.startsWith('read.'));
  const pruneLabels: [string, string][] = [
    ['prune.expiredFires', 'retention: expired fires (the oldest week)'],
    ['prune.totalMs', 'retention: time to remove the week (ms)'],
    ['prune.passes', 'retention: pruner passes'],
    ['prune.passP50Ms', 'retention: pass p50 (ms)'],
    ['prune.rowsDeleted', 'retention: rows deleted one by one'],
    ['prune.partitionsDropped', 'retention: partitions dropped (per table)'],
    ['prune.walMb', 'retention: WAL written (MB)'],
  ];
  const order: [string, string][] = [
    ...ROW_LABELS,
    ...readKeys.map((k): [string, string] => [k, `${k.slice(5)}: p50 / p95 (ms)`]),
    ...pruneLabels,
  ];
  for (const [k, l] of pruneLabels) labels.set(k, l);
  const header = ['measure', ...columns.map((c) => c.label)];
  const lines = [
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
  ];
  for (const [key, label] of order) {
    if (!keys.has(key)) continue;
    const values = columns.map((c) => {
      const v = c.cells[key];
      if (v === null || v === undefined) return '–';
      return typeof v === 'number' ? fmt(v) : v;
    });
    lines.push(`| ${label} | ${values.join(' | ')} |`);
  }
  return lines.join('\n');
}

function gitCommit(dir: string): string {
  try {
    return execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

await runMain(async () => {
  const runStarted = monoMs();
  const server = await startBenchServer({ prefix: 'bench-history' });
  const admin = new pg.Client({ connectionString: server.url, application_name: 'bench-history' });
  await admin.connect();
  // Bulk-load settings, undone after the load: fewer checkpoints, and no autovacuum racing the load
  // (the load ends with its own VACUUM ANALYZE).
  await admin.query(`ALTER SYSTEM SET max_wal_size = '4GB'`);
  await admin.query(`ALTER SYSTEM SET maintenance_work_mem = '512MB'`);
  await admin.query('ALTER SYSTEM SET autovacuum = off');
  await admin.query('SELECT pg_reload_conf()');
  const columns: Column[] = [];
  const executors: { column: Column; ex: Executor; destroy: () => Promise<void> }[] = [];
  for (const [label, name] of [
    ['N=0', 'history_empty'],
    [`N=${ROWS.toLocaleString('en-US')}`, 'history_n'],
  ] as const) {
    const url = await server.createDatabase(name);
    const database = openDatabase({
      connectionString: url,
      schema: SCHEMA,
      maxConnections: 2,
      applicationName: 'bench-history',
      statementTimeoutMs: 3_600_000,
    });
    await migrate(database.pool, SCHEMA);
    const column: Column = { label, database: name, url, cells: {}, details: {} };
    columns.push(column);
    executors.push({ column, ex: { db: database.db, schema: SCHEMA }, destroy: () => database.destroy() });
  }
  const full = columns[1]!;

  log(`1. loading ${ROWS.toLocaleString('en-US')} history rows (tree ${TREE})`);
  const loader = new pg.Client({ connectionString: full.url, application_name: 'bench-history' });
  await loader.connect();
  const history = await loadHistory(loader, { schema: SCHEMA, rows: ROWS, chunk: CHUNK, log });
  full.cells['load.seconds'] = round(history.loadSeconds + history.vacuumSeconds, 0);
  full.cells['load.rowsPerSec'] = round(ROWS / Math.max(0.001, history.loadSeconds), 0);
  full.details.load = history;
  await admin.query('ALTER SYSTEM RESET autovacuum');
  await admin.query('SELECT pg_reload_conf()');
  for (const column of columns) {
    const client = column === full ? loader : new pg.Client({ connectionString: column.url });
    if (client !== loader) await client.connect();
    sizeCells(column, await historySizes(client, SCHEMA));
    if (client !== loader) await client.end();
  }
  await loader.end();
  for (const size of full.details.sizes as HistorySize[])
    log(
      `  ${size.table}: ${size.rows.toLocaleString('en-US')} rows, table ${mb(size.tableBytes)}, indexes ${mb(size.indexBytes)}, ${size.partitions} partitions`,
    );

  log(`2. reads (p50 / p95 over ${RUNS} runs after 2 warm-ups)`);
  for (const { column, ex } of executors) await measureReads(column, ex, column === full ? history : null);

  log(`3. drain of ${DRAIN.toLocaleString('en-US')} one-offs, ${REPLICAS} replicas at defaults`);
  for (const column of columns) await measureDrain(server, column);

  log('4. retention: the oldest week expires');
  if (ROWS > 0) await measureRetention(full, executors[1]!.ex, history);

  for (const { destroy } of executors) await destroy();
  const { rows: version } = await admin.query<{ v: string }>(`SELECT current_setting('server_version') AS v`);
  await admin.end();
  await server.stop();

  const seconds = Math.round((monoMs() - runStarted) / 1000);
  const commit = gitCommit(TREE);
  const spanDays = (history.endMs - history.startMs) / DAY_MS;
  const settings =
    `N = ${ROWS.toLocaleString('en-US')} fires with one execution each (${history.triggers.toLocaleString('en-US')} interval triggers, ` +
    `${history.jobs} jobs, 8 groups, one fire every ${history.stepMs} ms from ${new Date(history.startMs).toISOString().slice(0, 10)} ` +
    `(a Monday) over ${spanDays.toFixed(1)} days, 1 in 33 failed: dead letters); schema: ${history.partitioned ? 'weekly partitions' : 'plain tables'} ` +
    `(${TREE} at ${commit}); drain: ${DRAIN.toLocaleString('en-US')} one-offs due now, ${REPLICAS} replicas at defaults; reads: p50 / p95 of ${RUNS} ` +
    `runs after 2 warm-ups (fewer, as n=, when a read passes 2 min in all); retention: the pruner's passes (batch 5,000) until the oldest ` +
    `week is gone; PostgreSQL ${version[0]!.v} embedded (fsync off, shared_buffers 128 MB, max_wal_size 4 GB), ${cpus().length} cores, node ${process.version}.`;
  const markdown = renderTable(columns);
  const command = `npx tsx bench/history-scale.ts ${process.argv.slice(2).join(' ')}`.trim();
  log(`\n${markdown}\n\nSettings: ${settings}\n`);
  const mdPath = OUT.replace(/\.json$/, '') + '.md';
  writeFile(mdPath, `${markdown}\n\nSettings: ${settings}\n\nRun: \`${command}\`, ${seconds} s.\n`);
  writeJson(OUT, { command, seconds, tree: TREE, commit, settings, columns });
  log(`results: ${OUT}, table: ${mdPath} (run took ${seconds} s)`);
});
