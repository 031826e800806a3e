/**
 * `npm run bench`: Belfry against pg-boss and graphile-worker on one embedded PostgreSQL, each system in
 * its own database, one after the other, each with 3 processes. Prints a system × metric table with
 * Belfry/peer ratios and writes the same to .tmp/bench-results.json. See docs/benchmarks.md.
 *
 *   npm run bench                      the full run (~6 minutes)
 *   npm run bench -- --quick           a ~1-minute smoke run
 *   npm run bench -- --systems belfry  only Belfry (also: graphile-worker, pg-boss)
 *   npm run bench -- --help            every flag
 */
import { cpus, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { intFlag, parseFlags, stringFlag } from './support/args.js';
import { runMain } from './support/cleanup.js';
import { startBenchServer } from './support/postgres.js';
import { ratios, renderTable, writeJson, type RunReport, type SystemResult } from './support/report.js';
import { monoMs, wallMs } from './support/time.js';
import { runBelfrySuite } from './suites/belfry.js';
import type { Sizes } from './suites/common.js';
import { runPeerSuite } from './suites/peers.js';

const HELP = `Usage: npm run bench -- [flags]
  --quick                     small sizes, no peer cron (~1 minute)
  --systems LIST              comma-separated: belfry,graphile-worker,pg-boss (default all)
  --processes N               replicas / workers per system (3)
  --herd N                    (a) jobs due at one instant (10000; quick 2000)
  --sustained-triggers N      (b) Belfry interval triggers every 1 s (10000; quick 2000)
  --sustained-seconds N       (b) how long they fire (10; quick 5)
  --peer-drain N              (b) peers: jobs drained (20000; quick 3000)
  --light-triggers N          (c) triggers every 1 s / peer adds per second (20; quick 10)
  --light-seconds N           (c) (10; quick 5)
  --add-rate N --add-seconds N  Belfry fireNow add-to-start pacing (20/s for 5 s; quick 10/s for 3 s)
  --idle-seconds N            (d) idle window (20; quick 5); --settle-seconds N before it (11; quick 4)
  --cron-items N              peers' cron items at a minute boundary, 0 to skip (20; quick 0)
  --concurrency N             Belfry executions per replica (1000)
  --batch-size N              Belfry triggers per acquisition (500)
  --max-idle-ms N             Belfry longest sleep between acquisitions (10000, the default)
  --graphile-concurrency N    graphile-worker concurrency per process (10)
  --graphile-poll-ms N        graphile-worker pollInterval (2000, its default)
  --pgboss-batch N            pg-boss work() batchSize (100)
  --pgboss-poll-seconds N     pg-boss pollingIntervalSeconds (0.5, its minimum)
  --pgboss-cron-queues N      pg-boss scheduled queues for the cron phase (5)
  --cpu-prof                  write a V8 CPU profile per Belfry replica to .tmp/bench-profiles/
  --pg-log-min-duration-ms N  log statements taking >= N ms (0: all) to the run's postgres.log
  --out PATH                  JSON results (.tmp/bench-results.json)`;

await runMain(async () => {
  const flags = parseFlags({
    quick: { type: 'boolean' },
    help: { type: 'boolean' },
    systems: { type: 'string' },
    processes: { type: 'string' },
    herd: { type: 'string' },
    'sustained-triggers': { type: 'string' },
    'sustained-seconds': { type: 'string' },
    'peer-drain': { type: 'string' },
    'light-triggers': { type: 'string' },
    'light-seconds': { type: 'string' },
    'add-rate': { type: 'string' },
    'add-seconds': { type: 'string' },
    'idle-seconds': { type: 'string' },
    'settle-seconds': { type: 'string' },
    'cron-items': { type: 'string' },
    concurrency: { type: 'string' },
    'batch-size': { type: 'string' },
    'max-idle-ms': { type: 'string' },
    'graphile-concurrency': { type: 'string' },
    'graphile-poll-ms': { type: 'string' },
    'pgboss-batch': { type: 'string' },
    'pgboss-poll-seconds': { type: 'string' },
    'pgboss-cron-queues': { type: 'string' },
    'cpu-prof': { type: 'boolean' },
    'pg-log-min-duration-ms': { type: 'string' },
    out: { type: 'string' },
  });
  if (flags.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const quick = flags.quick === true;
  const sizes: Sizes = {
    processes: intFlag(flags.processes, 3),
    herd: intFlag(flags.herd, quick ? 2_000 : 10_000),
    sustainedTriggers: intFlag(flags['sustained-triggers'], quick ? 2_000 : 10_000),
    sustainedSeconds: Math.max(2, intFlag(flags['sustained-seconds'], quick ? 5 : 10)),
    peerDrainJobs: intFlag(flags['peer-drain'], quick ? 3_000 : 20_000),
    lightTriggers: Math.max(1, intFlag(flags['light-triggers'], quick ? 10 : 20)),
    lightSeconds: Math.max(1, intFlag(flags['light-seconds'], quick ? 5 : 10)),
    addRate: Math.max(1, intFlag(flags['add-rate'], quick ? 10 : 20)),
    addSeconds: Math.max(1, intFlag(flags['add-seconds'], quick ? 3 : 5)),
    idleSeconds: Math.max(1, intFlag(flags['idle-seconds'], quick ? 5 : 20)),
    // PostgreSQL flushes an idle backend's counters within 10 s: settle past that so start-up work
    // is not counted as idle traffic.
    settleSeconds: intFlag(flags['settle-seconds'], quick ? 4 : 11),
    cronItems: intFlag(flags['cron-items'], quick ? 0 : 20),
  };
  const systems = (stringFlag(flags.systems) ?? 'belfry,graphile-worker,pg-boss')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const system of systems) {
    if (!['belfry', 'graphile-worker', 'pg-boss'].includes(system))
      throw new Error(`unknown system ${system}`);
  }
  const belfryOptions = {
    concurrency: intFlag(flags.concurrency, 1_000),
    batchSize: intFlag(flags['batch-size'], 500),
    maxIdleMs: flags['max-idle-ms'] === undefined ? undefined : intFlag(flags['max-idle-ms'], 10_000),
    cpuProfDir: flags['cpu-prof'] ? join(process.cwd(), '.tmp', 'bench-profiles') : undefined,
  };
  const peerOptions = {
    graphile: {
      concurrency: intFlag(flags['graphile-concurrency'], 10),
      pollInterval: intFlag(flags['graphile-poll-ms'], 2_000),
    },
    pgBoss: {
      batchSize: intFlag(flags['pgboss-batch'], 100),
      pollingIntervalSeconds: Number(stringFlag(flags['pgboss-poll-seconds']) ?? 0.5),
      cronQueues: Math.max(1, intFlag(flags['pgboss-cron-queues'], 5)),
    },
  };
  const outPath = stringFlag(flags.out) ?? join(process.cwd(), '.tmp', 'bench-results.json');
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
  const ctx = { server, sizes, logDir, log };
  const results: SystemResult[] = [];
  for (const system of systems) {
    log(`=== ${system} ===`);
    results.push(
      system === 'belfry'
        ? await runBelfrySuite(ctx, belfryOptions)
        : await runPeerSuite(ctx, system as 'graphile-worker' | 'pg-boss', peerOptions),
    );
  }
  const postgres = await server.version();
  await server.stop();

  const belfry = results.find((r) => r.system === 'belfry');
  const peers = results.filter((r) => r.system !== 'belfry');
  const m = (key: string) => belfry?.metrics[key] ?? null;
  const target = (value: number | null, ok: (v: number) => boolean, text: string) => ({
    target: text,
    value,
    met: value === null ? null : ok(value),
  });
  const sustainedOk = sizes.sustainedTriggers >= 5_000 ? m('sustained.perSec') : null;
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
    flags: { sizes, belfry: belfryOptions, peers: peerOptions, systems },
    systems: results,
    ratios: ratios(results),
    targets: belfry
      ? {
          herdAllFiredWithin2s: target(
            m('herd.allFiredMs'),
            (v) => v <= 2_000,
            `${sizes.herd} triggers due at once all fired within 2000 ms (job_history)`,
          ),
          sustainedAtLeast5000: target(
            sustainedOk,
            (v) => v >= 5_000 && m('sustained.duplicates') === 0 && m('sustained.missing') === 0,
            '>= 5000 fires/s, each exactly once (needs --sustained-triggers >= 5000)',
          ),
          lightLagP99AtMost10ms: target(
            m('light.historyLagP99'),
            (v) => v <= 10,
            'light-load fire lag p99 <= 10 ms (job_history)',
          ),
          idleAtMost1TxnPerReplica: target(
            m('idle.txnPerSecPerProcess'),
            (v) => v <= 1,
            '<= 1 transaction/s per idle replica',
          ),
          aheadOfPeers: {
            target: 'ahead of both peers on every shared metric',
            value: null,
            met:
              peers.length === 0
                ? null
                : Object.values(ratios(results)).every((row) =>
                    Object.entries(row).every(
                      ([key, ratio]) => ratio === null || (key.endsWith('perSec') ? ratio >= 1 : ratio <= 1),
                    ),
                  ),
          },
        }
      : {},
  };

  const table = renderTable(results);
  process.stdout.write(`\n${table}\n\n`);
  for (const [name, t] of Object.entries(report.targets)) {
    process.stdout.write(
      `target ${name}: ${t.target}: ${t.value ?? ''} ${t.met === null ? 'not measured' : t.met ? 'MET' : 'MISSED'}\n`,
    );
  }
  for (const r of results) for (const note of r.notes) process.stdout.write(`note (${r.system}): ${note}\n`);
  writeJson(outPath, report);
  process.stdout.write(
    `\nmachine: ${report.machine.cpus} cores (${report.machine.cpuModel}), node ${report.machine.node}, PostgreSQL ${report.machine.postgres}\n`,
  );
  process.stdout.write(`results: ${outPath} (run took ${report.durationSeconds} s)\n`);
});
