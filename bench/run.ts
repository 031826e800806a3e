/**
 * `npm run bench`: Belfry, graphile-worker and pg-boss on the same workloads (bench/workloads.ts), each in
 * two columns, its library's defaults and its best documented tuning, on one embedded PostgreSQL. Every
 * system × column runs in its own fresh database with the same number of processes, one after the
 * other. Prints the table, writes docs-ready Markdown to .tmp/bench-table.md and the full results to
 * .tmp/bench-results.json. See docs/benchmarks.md.
 *
 *   npm run bench                      the full run
 *   npm run bench -- --quick           a ~3-minute smoke run (small sizes, short limits)
 *   npm run bench -- --systems belfry --columns defaults
 *   npm run bench -- --help            every flag
 */
import { cpus, platform, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { intFlag, parseFlags, stringFlag, type Flags } from './support/args.js';
import { runMain } from './support/cleanup.js';
import { startBenchServer } from './support/postgres.js';
import {
  orderCells,
  ratios,
  renderMarkdown,
  writeFile,
  writeJson,
  type CellResult,
  type RunReport,
} from './support/report.js';
import { monoMs, wallMs } from './support/time.js';
import { belfryDriver } from './systems/belfry.js';
import { graphileDriver, pgBossDriver } from './systems/peers.js';
import { COLUMNS, type Column, type SystemDriver } from './systems/system.js';
import { WORKLOADS, type WorkloadSizes } from './workloads.js';

const HELP = `Usage: npm run bench -- [flags]
  --quick                      small sizes and short limits (~3 minutes)
  --systems LIST               comma-separated: belfry,graphile-worker,pg-boss (default all)
  --columns LIST               defaults,tuned (default both)
  --workloads LIST             idle,add-to-start,herd,steady,drain (default all; for iterating on one)
  --processes N                processes per system (3)
  --drain N                    jobs due now, drained (20000; quick 3000)
  --herd N                     jobs due at one future second (10000; quick 2000)
  --add-rate N --add-seconds N add-to-start at idle: jobs added one at a time (20/s for 10 s; quick 10/s for 3 s)
  --steady-rate N              steady load: jobs offered per second (2000; quick 500)
  --steady-seconds N           (10; quick 4)
  --idle-seconds N             idle window (20; quick 4); --settle-seconds N before it (11; quick 3)
  --limit-seconds N            longest wait for a job to start, per workload (60; quick 8)
 tuned columns (the defaults columns set no options at all):
  --belfry-concurrency N       createScheduler concurrency (1000)
  --belfry-batch-size N        createScheduler batchSize (500)
  --graphile-concurrency N     run() concurrency (100)
  --graphile-local-queue N     preset worker.localQueue.size (100)
  --graphile-complete-delay N  preset worker.completeJobBatchDelay and failJobBatchDelay (0)
  --graphile-pool N            run() maxPoolSize (20)
  --pgboss-batch N             work() batchSize (500)
  --pgboss-poll-seconds N      work() pollingIntervalSeconds (0.5, its minimum)
  --pgboss-workers N           work() calls per process (4)
 diagnostics:
  --cpu-prof                   a V8 CPU profile per Belfry replica in .tmp/bench-profiles/
  --pg-log-min-duration-ms N   log statements taking >= N ms (0: all) to the run's postgres.log
  --out PATH                   JSON results (.tmp/bench-results.json); the Markdown goes next to it
                               as bench-table.md`;

const FLAG_SPEC = {
  quick: { type: 'boolean' },
  help: { type: 'boolean' },
  systems: { type: 'string' },
  columns: { type: 'string' },
  workloads: { type: 'string' },
  processes: { type: 'string' },
  drain: { type: 'string' },
  herd: { type: 'string' },
  'add-rate': { type: 'string' },
  'add-seconds': { type: 'string' },
  'steady-rate': { type: 'string' },
  'steady-seconds': { type: 'string' },
  'idle-seconds': { type: 'string' },
  'settle-seconds': { type: 'string' },
  'limit-seconds': { type: 'string' },
  'belfry-concurrency': { type: 'string' },
  'belfry-batch-size': { type: 'string' },
  'graphile-concurrency': { type: 'string' },
  'graphile-local-queue': { type: 'string' },
  'graphile-complete-delay': { type: 'string' },
  'graphile-pool': { type: 'string' },
  'pgboss-batch': { type: 'string' },
  'pgboss-poll-seconds': { type: 'string' },
  'pgboss-workers': { type: 'string' },
  'cpu-prof': { type: 'boolean' },
  'pg-log-min-duration-ms': { type: 'string' },
  out: { type: 'string' },
} as const;

function sizesOf(flags: Flags): WorkloadSizes {
  const quick = flags.quick === true;
  return {
    processes: Math.max(1, intFlag(flags.processes, 3)),
    drain: Math.max(1, intFlag(flags.drain, quick ? 3_000 : 20_000)),
    herd: Math.max(1, intFlag(flags.herd, quick ? 2_000 : 10_000)),
    addRate: Math.max(1, intFlag(flags['add-rate'], quick ? 10 : 20)),
    addSeconds: Math.max(1, intFlag(flags['add-seconds'], quick ? 3 : 10)),
    steadyRate: Math.max(20, intFlag(flags['steady-rate'], quick ? 500 : 2_000)),
    steadySeconds: Math.max(1, intFlag(flags['steady-seconds'], quick ? 4 : 10)),
    idleSeconds: Math.max(1, intFlag(flags['idle-seconds'], quick ? 4 : 20)),
    settleSeconds: intFlag(flags['settle-seconds'], quick ? 3 : 11),
    limitSeconds: Math.max(5, intFlag(flags['limit-seconds'], quick ? 8 : 60)),
  };
}

/** Every system's driver with its two columns: nothing set, and the best documented tuning. */
function driversOf(flags: Flags): Record<string, SystemDriver> {
  const completeDelay = intFlag(flags['graphile-complete-delay'], 0);
  const cpuProfDir = flags['cpu-prof'] ? join(process.cwd(), '.tmp', 'bench-profiles') : undefined;
  return {
    belfry: belfryDriver({
      defaults: { cpuProfDir },
      tuned: {
        concurrency: intFlag(flags['belfry-concurrency'], 1_000),
        batchSize: intFlag(flags['belfry-batch-size'], 500),
        cpuProfDir,
      },
    }),
    'graphile-worker': graphileDriver({
      defaults: {},
      tuned: {
        concurrency: intFlag(flags['graphile-concurrency'], 100),
        maxPoolSize: intFlag(flags['graphile-pool'], 20),
        preset: {
          localQueue: { size: intFlag(flags['graphile-local-queue'], 100) },
          completeJobBatchDelay: completeDelay,
          failJobBatchDelay: completeDelay,
        },
      },
    }),
    'pg-boss': pgBossDriver({
      defaults: { workers: 1 },
      tuned: {
        workers: Math.max(1, intFlag(flags['pgboss-workers'], 4)),
        batchSize: Math.max(1, intFlag(flags['pgboss-batch'], 500)),
        pollingIntervalSeconds: Math.max(0.5, Number(stringFlag(flags['pgboss-poll-seconds']) ?? 0.5)),
      },
    }),
  };
}

function listFlag(value: Flags[string], all: readonly string[]): string[] {
  const list = (stringFlag(value) ?? all.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of list) if (!all.includes(item)) throw new Error(`unknown value ${item}`);
  return list;
}

await runMain(async () => {
  const flags = parseFlags(FLAG_SPEC);
  if (flags.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const sizes = sizesOf(flags);
  const drivers = driversOf(flags);
  const systems = listFlag(flags.systems, Object.keys(drivers));
  const columns = listFlag(flags.columns, COLUMNS) as Column[];
  const workloadNames = listFlag(
    flags.workloads,
    WORKLOADS.map((w) => w.name),
  );
  const workloads = WORKLOADS.filter((w) => workloadNames.includes(w.name));
  const outPath = stringFlag(flags.out) ?? join(process.cwd(), '.tmp', 'bench-results.json');
  const tablePath = join(dirname(outPath), 'bench-table.md');
  const startedAt = new Date(wallMs());
  const t0 = monoMs();
  const logDir = join(process.cwd(), '.tmp', 'bench-logs', startedAt.toISOString().replace(/[:.]/g, '-'));
  const log = (message: string) =>
    process.stdout.write(`[${((monoMs() - t0) / 1_000).toFixed(1).padStart(6)} s] ${message}\n`);
  log(`starting PostgreSQL (embedded); child logs in ${logDir}`);
  const pgLogMs = stringFlag(flags['pg-log-min-duration-ms']);
  const server = await startBenchServer({
    prefix: 'bench-pg',
    logFile: join(logDir, 'postgres.log'),
    logMinDurationMs: pgLogMs === undefined ? undefined : intFlag(pgLogMs, 0),
  });
  const cells: CellResult[] = [];
  for (const name of systems) {
    const driver = drivers[name]!;
    for (const column of columns) {
      log(`=== ${name} ${column}: ${JSON.stringify(driver.settings(column))} ===`);
      const cell: CellResult = {
        system: driver.system,
        column,
        settings: { processes: sizes.processes, ...driver.settings(column) },
        metrics: {},
        lowerBounds: [],
        details: {},
        notes: [],
      };
      const running = await driver.start({ server, processes: sizes.processes, logDir, log }, column);
      try {
        for (const workload of workloads) {
          const result = await workload.run(running, {
            server,
            sizes,
            log: (m) => log(`${name} ${column} ${m}`),
          });
          Object.assign(cell.metrics, result.metrics);
          cell.lowerBounds.push(...(result.lowerBounds ?? []));
          cell.details[workload.name] = result.details;
          cell.notes.push(...result.notes);
          log(`${name} ${column} ${workload.name}: ${JSON.stringify(result.metrics)}`);
        }
      } finally {
        await running.stop();
      }
      cells.push(cell);
    }
  }
  const postgres = await server.version();
  await server.stop();

  const belfry = cells.find((c) => c.system === 'belfry' && c.column === 'defaults')?.metrics;
  const graphile = cells.find((c) => c.system === 'graphile-worker' && c.column === 'defaults')?.metrics;
  const target = (value: number | null | undefined, ok: (v: number) => boolean, text: string) => ({
    target: text,
    value: value ?? null,
    met: value === null || value === undefined ? null : ok(value),
  });
  const report: RunReport = {
    startedAt: startedAt.toISOString(),
    durationSeconds: Math.round((monoMs() - t0) / 1_000),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      postgres: `${postgres} (embedded, same machine, fsync off)`,
      platform: `${platform()} ${release()}`,
    },
    sizes: { ...sizes, systems, columns },
    cells: orderCells(cells),
    ratios: ratios(cells),
    // Issue 16's targets for Belfry at defaults (3 replicas, no options).
    targets: belfry
      ? {
          herdWithin1s: target(
            sizes.herd >= 10_000 ? belfry['herd.allStartedMs'] : null,
            (v) => v <= 1_000,
            'defaults: a herd of 10,000 all started within 1000 ms (needs --herd >= 10000)',
          ),
          drainAtLeast10k: target(
            belfry['drain.startPerSec'],
            (v) => v >= 10_000,
            'defaults: drain >= 10,000 fires/s',
          ),
          drainAtLeastGraphileDefaults: target(
            graphile ? belfry['drain.startPerSec'] : null,
            (v) => v >= (graphile?.['drain.startPerSec'] ?? Infinity),
            "defaults: drain >= graphile-worker's defaults in the same run",
          ),
          addToStartP99AtMost5ms: target(
            belfry['addToStart.p99'],
            (v) => v <= 5,
            'defaults: add-to-start (fireNow) p99 <= 5 ms',
          ),
        }
      : {},
  };

  const markdown = renderMarkdown(cells);
  process.stdout.write(`\n${markdown}\n\n`);
  for (const [name, t] of Object.entries(report.targets)) {
    const verdict = t.met === null ? 'not measured' : t.met ? 'MET' : 'MISSED';
    process.stdout.write(`target ${name}: ${t.target}: ${t.value ?? ''} ${verdict}\n`);
  }
  const machine = `${report.machine.cpus} cores (${String(report.machine.cpuModel)}), node ${process.version}, PostgreSQL ${String(report.machine.postgres)}`;
  const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
  writeFile(
    tablePath,
    `${markdown}\n\nRun ${report.startedAt} (${report.durationSeconds} s), \`${command}\`, ${machine}.\n`,
  );
  writeJson(outPath, report);
  process.stdout.write(`\nmachine: ${machine}\n`);
  process.stdout.write(`results: ${outPath}, table: ${tablePath} (run took ${report.durationSeconds} s)\n`);
});
